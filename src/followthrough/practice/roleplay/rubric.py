"""The rubric: observable behaviours on the four building blocks, and how each is recognised.

Each behaviour has phrase patterns (what an observer would underline), with negation, sarcasm and
refusal gates; wordings the phrases miss are left to a learned cue per behaviour (`learned`),
fitted on the labelled set by `followthrough roleplay calibrate`. Patterns are data read by
`scoring`, never evaluated as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Block(StrEnum):
    UNDERSTAND = "understand"
    OWN = "own"
    SERVE = "serve"
    COMMUNICATE = "communicate"


class Behaviour(StrEnum):
    ASKS_NEED = "asks_need"
    RESTATES = "restates"
    TAKES_OWNERSHIP = "takes_ownership"
    DEFLECTS = "deflects"
    NEXT_STEP_AND_TIME = "next_step_and_time"
    CUSTOMER_VIEW = "customer_view"
    CHECKS_BACK = "checks_back"
    ACKNOWLEDGES_FEELING = "acknowledges_feeling"


@dataclass(frozen=True)
class BehaviourRule:
    """One behaviour: its block, what it is worth (+1, or -1 for a deflection), how it is seen."""

    behaviour: Behaviour
    block: Block
    points: int
    title: str
    description: str
    # Phrases that show the behaviour (case-insensitive regular expressions).
    cues: tuple[str, ...]
    # Example phrasings, for people writing scenarios and reading the rubric.
    examples: tuple[str, ...]
    # The sentence must be a question (ends with "?" or opens like one) for a cue to count.
    needs_question: bool = False
    # The sentence must also name a time (next step AND a time).
    needs_time: bool = False
    # A negation right before the cue cancels it ("I won't call", "never said I'd chase").
    negatable: bool = True


@dataclass(frozen=True)
class Rubric:
    """The behaviours scored on every turn; its version is kept with every scored attempt."""

    version: str
    behaviours: tuple[BehaviourRule, ...]

    def rule(self, behaviour: Behaviour) -> BehaviourRule:
        return next(rule for rule in self.behaviours if rule.behaviour is behaviour)


# Words that turn the next phrase around within a few words ("I won't call you back").
NEGATION = re.compile(
    r"\b(not|never|no|won'?t|can'?t|cannot|don'?t|doesn'?t|didn'?t|isn'?t|wasn'?t|"
    r"shouldn'?t|wouldn'?t|couldn'?t|hardly|refuse to|no way|nobody|no one|none of us)\b",
    re.IGNORECASE,
)
# Openings that make the rest of the sentence sarcastic: the words say yes, the speaker says no.
SARCASM = re.compile(
    r"\b(oh,? sure|oh,? great|oh,? of course|yeah,? right|sure,? sure|as if|"
    r"because I(?:'ve| have) got nothing better|nothing better to do|drop everything|"
    r"like I(?:'ve| have) got all day|of course,? because|whatever you say|"
    r"obviously I(?:'ll| will) just|sure thing,? your majesty|"
    r"oh,? (?:yes|yeah|absolutely|right),? (?:because|I'?ll|of course)|"
    r"oh,? (?:wonderful|lovely|brilliant|marvellous|fantastic),|"
    # "I'll just wave a magic wand, shall I?"
    r"just [^.?!]{3,60},? shall I)\b",
    re.IGNORECASE,
)
# Before a deflecting phrase these mean the speaker refuses to deflect ("I won't tell you it's
# not my department"), which is owning, not deflecting.
REFUSED_DEFLECTION = re.compile(
    r"\b(won'?t|will not|not going to|never going to|refuse to|rather than|instead of|"
    r"wouldn'?t|I'm not about to|no point)\b[^.?!]{0,30}?\b(say|saying|tell|telling|pass|"
    r"passing|send|sending|bounce|bouncing|fob|fobbing|push|pushing|hand|handing|point|"
    r"pointing|blame|blaming|pretend)",
    re.IGNORECASE,
)
_NUMBER = (
    r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|forty-five|half an?)"
)
TIME = re.compile(
    r"\b(today|tonight|tomorrow|this (morning|afternoon|evening|week)|end of (the )?(day|week)|"
    r"close of play|first thing|by (noon|lunch|lunchtime|midday|\d{1,2}([:.]\d{2})?\s*(am|pm)?|"
    r"one|two|three|four|five|six|ten|eleven|twelve)|before (noon|lunch|\d{1,2}|one|two|three|"
    r"four|five|six|the end)|at \d{1,2}([:.]\d{2})?\s*(am|pm)?|\d{1,2}([:.]\d{2})\b|"
    r"\d{1,2}\s*(am|pm)|within (the )?(next )?(\d+|an?|one|two|three|half an|the) (minutes?|hours?|"
    r"days?|working days?|business days?|hour)|in (the next )?(\d+|ten|twenty|thirty|fifteen|"
    r"five|two|an?|half an) (minutes?|hours?|days?)|"
    r"(on |by |next |this )?(monday|tuesday|wednesday|thursday|friday)|"
    r"by (the )?end of|the next hour|half an hour|straight after|right after|"
    r"after (lunch|my next call|this call)|before you leave|before you go home|tonight's|"
    r"(at|by|until|before) (one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"half past \w+|quarter (past|to) \w+)|"
    rf"(within|in|give me) (the next )?{_NUMBER} (minutes?|hours?|days?|working days?)|"
    r"on the (\d+(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth|fifteenth|twentieth)|(next|this|on) (week|month)|the earliest slot)\b",
    re.IGNORECASE,
)
# Another party a problem can be passed to: a team, a role, a person outside the conversation,
# or a place to send it. The deflection cues below use it in the forms of passing something on:
# sending the person there ("try the claims line"), giving it to them ("that's one for
# finance"), saying they do it ("underwriting make that call"). "The customer" is not one.
_TEAM = (
    # "IT" in capitals only: the rules are case-insensitive, and "it" is not a team.
    r"(?:claims|finance|accounts|payments|underwriting|underwriters?|(?-i:IT)|HR|legal|compliance|"
    r"recoveries|renewals|complaints|customer (?:relations|services)|head office|operations|ops|"
    r"scheduling|approvals|procurement|admin(?: pool| team)?|the board|the developers|upstairs)"
)
_ROLE = (
    r"(?:supplier|garage|broker|(?:loss )?adjuster|surveyor|supervisor|(?:line )?manager|panel|"
    r"team lead(?:er)?|director|regulator|night shift|night team|day team|switchboard|"
    r"other team|other department|other shift)s?"
)
PARTY = (
    rf"(?:(?:the )?{_TEAM}|(?:the|your|your own|their|their own|a|an|that)\s+(?:\w+ )?{_ROLE}|"
    r"(?:another|a different|the other|the right|the relevant|a separate|the proper) "
    r"(?:team|department|desk|unit|people|person|line|number|office|section|lot)|"
    r"the (?:\w+ ){0,2}(?:team|department|desk|helpline|hub|inbox|line|lot|unit|side|number)\b(?! (?:meeting|together))|"
    r"(?:[\w]+'s|the (?:next|morning|evening|late|early|night)) shift|"
    r"(?:the|a) (?:shared|general|main) (?:inbox|mailbox|line|number)|the website|the portal|"
    r"some(?:one|body) else|whoever \w+(?: \w+){0,2})"
)
# Said sarcastically, these mean the opposite: "obviously part of my job" means it is not.
SARCASTIC_OWNING = re.compile(
    r"\b(?:part of )?my (?:job|problem|department|responsibility)\b|"
    # Rubric 2026-12-01.7: "drop my own queue and fix theirs", "underwriting's mix-ups".
    r"\bfix theirs\b|\b(?:their|[\w]+'s) (?:mess|mix-?ups?|mistakes?|backlog)\b",
    re.IGNORECASE,
)
QUESTION_OPENING = re.compile(
    r"^\s*(what|how|why|when|where|which|who|could|can|would|do|does|did|is|are|was|have|has|"
    r"shall|should|may|will|tell me|help me understand|talk me through|walk me through)\b",
    re.IGNORECASE,
)


BEHAVIOURS: tuple[BehaviourRule, ...] = (
    BehaviourRule(
        Behaviour.ASKS_NEED,
        Block.UNDERSTAND,
        1,
        "Asks about the true need",
        "An open question about what the person, or their customer, actually needs.",
        cues=(
            r"\bwhat (do|does|would) (you|they|the customer|she|he|your customer) (really |actually )?(need|want|require|expect|hope)",
            r"\bwhat (matters|is most important|would help|would make (this|it) right|are you (trying|hoping) to)",
            r"\bwhat('s| is) (the|your) (real |main |actual |underlying )?(need|worry|concern|goal|priority|deadline|outcome)",
            r"\b(help me|can you help me) understand\b",
            r"\b(talk|walk) me through\b",
            r"\btell me (more|what|about|exactly)\b",
            r"\bwhat (happened|went wrong|is going on|'s going on|did they say|did they tell you|did you expect)",
            r"^who (did|have|had) you (speak|talk|deal) (to|with)\b",
            r"\bhow (is|has) (this|it) affect(ing|ed)\b",
            r"\bwhat (would|does) (a )?good (outcome|result|look like)",
            r"\bwhat (do|did) you (need|want|expect) (from|of) (me|us)",
            r"\bwhy (does|is) (that|this|it) (matter|important|urgent)",
            r"\bwhat is it (you|they) need\b",
            r"\bwhat are you (after|looking for)\b",
            r"^(before I [a-z]+ anything,? |first,? )?(what|why|where|how|which)\b(?! do you think\b)(?! are you (doing|holding|feeling))(?! a\b)(?! does (that|this) (sound|work))(?! about\b)(?! else\b)",
            r"\bwhat (were|are) (you|they) (hoping|expecting|worried|afraid|up against)",
            r"\bwhat('s| is) (behind|the impact|the problem|worrying)",
            r"\bI'?d like to understand\b",
        ),
        examples=(
            "What do you actually need from us?",
            "Help me understand what matters most to you here.",
            "What is the customer really trying to get done?",
            "Tell me more about what happened.",
            "What would a good outcome look like for you?",
        ),
        needs_question=True,
    ),
    BehaviourRule(
        Behaviour.RESTATES,
        Block.UNDERSTAND,
        1,
        "Restates what they heard",
        "Says back, in their own words, what the person needs, so it can be corrected.",
        cues=(
            r"\bso (what )?(you('re| are)|I'm) (saying|hearing|telling me)\b",
            r"\bwhat I('m| am) hearing\b",
            r"\bif I('ve| have) (understood|got (this|that|it)) right\b",
            r"\blet me (check|make sure) I('ve| have) (got|understood)\b",
            r"\bso,? (to )?(sum|recap|summari[sz]e)\b",
            r"\bin other words\b",
            r"\bso (you|the customer|she|he|they|your customer|mrs?\.? \w+) (need|needs|want|wants|is waiting|are waiting|has been waiting|have been waiting|expected|didn't get|never got|still (has|hasn't|haven't))",
            r"\bso the (real )?(problem|issue|need|worry|point) is\b",
            r"\bso what (you|they|the customer|she|he) (need|needs|want|wants) is\b",
            r"\bit sounds like (you|the customer|they) (need|want|were|are|have)",
            r"\bjust to (check|confirm|be clear),? (you|the|what)",
            r"\bif I understand (you|correctly|this)",
            r"\byou('re| are) saying (that )?",
            r"^so,? (the|it's|it is|on top|for you|your|you've|you have|you were|we agree|you'd|you want|you need|you feel|what you|the customer|the claimant|they)\b",
            r"\byou('re| are) telling me\b",
            r"\bif I('m| am) following (you|this)\b",
            r"\bif I('ve| have) understood (you|that|this|correctly)\b",
            r"^(it )?sounds like (the|you|your|they|it)\b",
            r"\b(the short version|in short|to put it another way|your main (worry|concern|point)|the real (issue|problem|point)( then)? is)\b",
            r"^you (want|need|'d like|would like|'re after|are after)\b",
            # Rubric 2026-12-01.6: saying back what happened, or who said what.
            r"^so,? (it|they|he|she|you|your \w+|the \w+) (went|was|were|got|came|sent|bounced|ended up)\b",
            r"^so,? (?:[\w']+ ){1,2}(say|says|said|told you|think|thinks)\b",
        ),
        examples=(
            "So what you need is the payment confirmed before Friday.",
            "If I've got this right, the customer has been waiting two weeks for a call.",
            "Let me check I understand: you promised the broker an answer today.",
            "What I'm hearing is that the handoff came back to you three times.",
        ),
    ),
    BehaviourRule(
        Behaviour.TAKES_OWNERSHIP,
        Block.OWN,
        1,
        "Takes ownership",
        "Says 'I' will see it through, or owns a mistake, instead of passing it on.",
        cues=(
            r"\b(leave it with me|I('ll| will) (own|take) (this|it|that)|I('ll| will) take (care|charge|responsibility))",
            r"\bI('ll| will) (sort|chase|fix|handle|deal with|follow (it |this )?up|look into|find out|get (this|it|that|an answer|you an answer)|make sure|see (it|this) through|personally)",
            r"\b(that's|that is|this is|it's|it is) (on me|my (fault|mistake|responsibility|job|call))\b",
            r"(?<!have )(?<!did )\bI (dropped|missed|forgot|messed up|sat on|should have|didn't (call|ring|get back|follow))",
            r"\bmy (mistake|fault|bad|responsibility)\b",
            r"\bI('m| am) (taking|going to take) (this|it|ownership|responsibility)",
            r"\bI('ll| will) (stay with|keep hold of|keep owning|be your (contact|point))",
            r"\bI('ll| will) (call|ring|phone|email|walk|speak to|talk to|go to) (them|claims|the team|finance|underwriting|the broker|the customer|her|him)\b",
            r"\bI('m| am) (on it|sorting it|handling it|chasing it)\b",
            r"\bI own (this|it|that)\b",
            r"\bI apologi[sz]e for (not|missing|my)\b",
            r"\bthat one's on me\b",
            r"\bI('ll| will| am going to|'m going to)\b[^.?!;]{0,50}\b(myself|personally)\b",
            r"\bI('ll| will) (take the lead|make it my (job|business|priority)|see to (it|that)|sit with you|go over|stay on)",
            r"\b(this|it)('s| is) (my file|mine)( now)?\b|\bthis stays with me\b",
            r"\blet me (handle|take|deal with|sort|chase|own|look after)\b",
            r"\bI('m| am) going to (own|keep|put (it|this|that) right|fix|sort|make (it|this) right)",
            r"\b(that|it) was my (promise|mistake|call|fault)\b",
            r"\bown (this|it|that|the part|my part)\b",
            # Rubric 2026-12-01.5: more ways of taking it on, from the labelled replies.
            r"\bI('ll| will) [\w' ]{1,30}\bon (your|her|his|their) behalf\b",
            r"\bleave (the \w+|it|that|this|them|\w+) (to|with) me\b",
            r"\b(this|that|it)('s| is) (all )?(down to|on) me\b",
            r"\bI('m| am) (owning|fixing|sorting|handling|chasing|taking care of) (it|this|that)\b",
            r"\bI('ll| will) be the one (who|to|that)\b",
            r"\b(it|this|that) stays with me\b",
            r"\btake [\w' ]{1,30} off your (list|plate|hands|desk)\b",
            # Rubric 2026-12-01.6, from the second fresh set (after it was scored once).
            r"\bI('ll| will) keep (chasing|pushing|at it|on at|on it)\b",
            r"\bI('ll| will) (come|go) (with you|along)\b",
            r"\bI('ll| will) (push|get hold of)\b",
            r"\b(it's|it is|this is|that's|that is) my (problem|job to fix)\b",
            r"\blet me\b[^.?!;]{0,40}\b(myself|personally)\b",
            r"\bI('m| am) putting (it|this|that) right\b",
            r"\bmy (\w+'s )?(mistake|fault)\b",
            r"\b(stay|keep) (on|with|at) (it|this|that|the \w+) until\b",
            r"\bI('ll| will) (speak to|talk to|ring|call|chase|sort|find|get)\b[^.?!]{0,30}\bfor you\b",
            # Rubric 2026-12-01.7, from the third fresh set (after it was scored once).
            r"\b(so|and|but|then) I('ll| will) do (it|that)\b|^I('ll| will) do (it|that)[.!]?$",
            r"\bI('ve| have) got (it|this)(,|\.|!|$| covered| from here)",
            r"\bI('ve| have) (already )?(asked|told|chased|rung|called|spoken to) (them|\w+) (to|for you|about)\b",
            r"\bif I (came|come|went|go) (with you|along)\b",
        ),
        examples=(
            "Leave it with me, I will sort it out myself.",
            "That was my mistake and I am going to put it right.",
            "I'll chase underwriting myself rather than send you to them.",
            "I'm taking this on until it is done.",
        ),
    ),
    BehaviourRule(
        Behaviour.DEFLECTS,
        Block.OWN,
        -1,
        "Deflects",
        "Passes the problem on or away: another department's job, the system's fault, nothing to do.",
        cues=(
            r"\bnot (my|our) (department|team|job|problem|area|call|fault|responsibility|remit|side|concern|issue|business)",
            r"\b(you'll|you will|you('d| would)) (have|need) to (call|ring|ask|contact|speak to|talk to|email|go to|raise|chase)",
            r"\b(call|ring|ask|contact|try|email) (claims|finance|IT|underwriting|the (other|right) (team|department)|them|someone else) (instead|directly|yourself)\b",
            r"\bnothing (I|we) can do\b",
            r"\bout of (my|our) hands\b",
            r"\b(above|beyond) my pay ?grade\b",
            r"\b(that's|that is|it's|it is) (for|up to) (claims|finance|IT|them|the other team|underwriting|someone else|another team|your team|your manager)",
            r"\b(blame|it's) the system\b|\bthe system (won't|doesn't|did|lost|is down|\w+ed)\b",
            r"\bnot (on|down to) me\b",
            r"\b(someone|somebody) else('s| is| will| can| should)\b",
            r"\b(I|we) (just|only) (process|pass|do what|follow)\b",
            r"\bI can'?t help (you|with that)\b",
            r"\b(take|raise) it (up )?with (claims|finance|them|your manager|the other team|IT|underwriting)",
            r"\b(wasn't|was not|isn't|is not) (me|my doing|us)\b",
            r"\bnot (something|anything) (I|we) (deal|handle|do)",
            r"\bwrong (department|team|person)\b",
            r"\b(talk|speak) to (your|their) (manager|team lead|own team)\b",
            r"\bthat's (just )?how it works\b",
            r"\b(that's|that is|it's|it is|this is) (really |just |more |probably )?(a |an |one )?([\w']+ ){0,2}(question|decision|job|matter|one|thing|issue|call) for\b",
            r"\b(that's|that is|it's|it is) (the|their|his|her|your|the \w+'s|\w+'s) (\w+ )?(job|problem|responsibility|department|patch|area|remit)\b",
            r"\bnot (ours|us|mine)\b",
            r"\b(you'd|you would) be better off (going|asking|calling|speaking|ringing|trying)",
            r"\b(have you tried|why don't you|can't you|could you not) (ask|call|speak|try|email|ring|contact)",
            r"\b(you're|you are) going to have to (call|ring|ask|wait|contact|go|speak)",
            r"\byou (want|need) (someone|somebody|the \w+ (team|desk|department|line))",
            r"\bI('m| am) (only|just) (the|a) \w+",
            r"\bthey('ll| will) (sort|deal with|handle|fix) (it|that)\b",
            r"\b(pop|put|raise|log) a ticket\b",
            r"\b(they|he|she|whoever) should have (sent|done|flagged|checked|told|called)",
            r"\b(keep|stay) out of it\b",
            r"\b(need|have) to ask (her|him|them|your)\b",
            r"\bI (passed|sent|handed|forwarded) it (on )?to\b",
            r"\b(my problem now|(their|\w+'s|\w+s') mess)\b",
            r"\bnothing (really )?(I|we) can\b|\bnot (really )?anything (I|we) can\b",
            r"\b(it's|it is) in the queue\b",
            r"\bthe (night|other|late|early) (shift|office)\b",
            r"\bI'?d (chase|call|ring|ask|try|email|contact|speak to|go to) [\w' ]{1,30} if I were you\b",
            r"\b(best|better|easiest|quickest) (to|if you) (ring|call|ask|try|email|contact|speak|go)",
            r"\bgo through the (proper|right|usual|normal) (channels|route|process)\b",
            r"\bthere'?s a form for (that|it|this)\b",
            r"\bfill (that|it|this|the form) in and (someone|somebody|they)\b",
            # Someone else deals with it ("Claims deal with that side of things"), not the speaker.
            r"\b(they|claims|finance|underwriting|IT|accounts|payments|HR|(the|that|another|a different) \w+ team) (deal|deals|dealt|handle|handles) with (that|this|those|it)\b",
            r"\b(handled|done|dealt with|sorted) (centrally|elsewhere|by (another|a different|the other|their|another) \w+)",
            r"\bwe don'?t (do|handle|deal with|cover) [\w' ]{1,20} (here|in this team|on this desk)\b",
            r"\b(that's|that is|it's|it is) above me\b",
            r"\byou'?d (want|need) (a|your|the|someone|somebody) ?(manager|supervisor|lead|team leader|else)?",
            r"\b(it's|it is) (sitting|stuck) with (them|claims|finance|underwriting|IT|the \w+)\b",
            r"\b(somebody|someone) (in|from|at) [\w ]{1,20} (dropped|lost|missed|forgot)",
            r"\bnot (something|anything) (I|we) can (sort|fix|do|help|change|deal)",
            r"\b(it was|it's been) like that (when|before) I\b",
            r"\bI (only|just) (log|pass|process|forward|take|send|file|key) (them|it|these|those|the)",
            r"\bnot sure why (you're|you are) (calling|asking|emailing|coming to) me\b",
            r"\bI don'?t make (it|the rules|the policy|them)\b",
            r"\bno ?(one|body) to ask\b",
            r"\bI wouldn'?t know\b",
            r"\b(that'll|that will|it'll|it will) be (one|a job|a question|a matter) for\b",
            r"\bnothing to do with (us|me)\b",
            r"\bthe rest is (up to|for|down to)\b",
            r"\b(that's|that is|it's|it is) (really |just |more |probably )?(the |their |his |her |your )?(?!my\b)([\w']+ ){0,2}(job|problem|patch|remit|department|responsibility)\b(?! for me)",
            r"\b(that's|that is|it's|it is) (really |just |more |probably )?(a|an) (claims|finance|IT|underwriting|HR|broker|head office|legal|payments|admin) (question|matter|issue|thing|job|query)",
            # Rubric 2026-12-01.5: the forms of passing it on, with any other party (PARTY).
            # Sending the person there: "try the customer relations line", "speak to claims".
            rf"(?:^|[,;:]\s*|\b(?:so|and|just|maybe|perhaps|honestly|or)\s+)(?:try(?: emailing| ringing| calling| asking| contacting)?|ask|ring|call|phone|speak to|talk to|contact|e-?mail|have a word with|drop (?:an? (?:e-?mail|line|note) )?to|write to|go to|take (?:it|that|this) (?:up with|to)|raise (?:it|that|this) with|check with)\s+{PARTY}",
            rf"\byou(?:'d| would|'ll| will|'re| are)?\s*(?:just |probably |really )?(?:need to|have to|want to|might want to|may want to|could|should|can|ought to|be better|better off|best off|be best)\s+(?:just |always |probably |try |keep )?(?:try(?:ing)?|ask(?:ing)?|ring(?:ing)?|call(?:ing)?|phon(?:e|ing)|speak(?:ing)? to|talk(?:ing)? to|contact(?:ing)?|e-?mail(?:ing)?|drop(?:ping)?|writ(?:e|ing) to|go(?:ing)? (?:to|through)|rais(?:e|ing)|tak(?:e|ing) (?:it|that|this) up|chas(?:e|ing)|check(?:ing)? with)\b[^.?!]{{0,40}}?(?:{PARTY}|\bthem\b|\bsome(?:one|body)\b|\banyone\b)",
            rf"\byou (?:want|need|'re after|are after) (?:to (?:speak|talk) to )?{PARTY}",
            # Giving it to them: "that's one for finance", "it's really the adjuster's call".
            rf"\b(?:that|it|this|which)(?: one)?(?:'s| is|'d be| would be|'ll be| will be| sounds like| seems like| looks like| falls| sits| belongs| lies| rests)?\s+(?:really |probably |more |just |technically |definitely |very much |all )?(?:on|with|under|for|up to|down to|to do with|a (?:question|matter|job|decision|call|thing) for|one for|in the hands of)\s+{PARTY}",
            r"\b(?:that's|that is|it's|it is|that'd be|that would be|it'd be|it would be|that was|it was)\s+(?:really |probably |just |more |technically )?(?:the |their |his |her |[\w]+'s |[\w]+s' )(?:\w+ )?(?:call|shout|decision|lookout|department|remit)\b",
            rf"\b(?:a|an) (?:{_TEAM}|{_ROLE}) (?:problem|question|matter|issue|thing|job|query)\b",
            rf"{PARTY} (?:usually |normally |always |generally |really |all )?(?:deal|deals|dealt|handle|handles|look after|looks after|decide|decides|make|makes|set|sets|own|owns|cover|covers|run|runs|approve|approves|manage|manages) (?:with )?(?:that|this|those|these|it|them|all (?:that|of that|those)|the \w+|\w+s)\b",
            rf"{PARTY} (?:have|has|own|owns) (?:it|that|this|the file)(?: now)?\b",
            rf"(?:{PARTY}|\bthey)\b[^.?!]{{0,30}}?\bshould (?:really |probably |have )?(?:be )?(?:the ones? )?(?:sorting|chasing|dealing|handling|fixing|doing|answering|looking|talking|sort|chase|deal|handle|fix|answer|look|talk)\b",
            rf"\b(?:questions?|queries|complaints?|anything else) (?:go|goes|should go|need to go|needs to go|has to go|have to go|would go) (?:to|through|via) (?:them|{PARTY})",
            rf"\bbetween you and (?:them|{PARTY})",
            r"\b(?:sat|sitting|stuck|waiting) (?:in|with|on) the (?:\w+ )?(?:queue|team|department|desk|inbox)\b",
            r"\b(?:a |the )?(?:separate|different) (?:team|department|desk|unit|number|line)\b",
            r",\s*not (?:me|us)\b",
            # The limits of the speaker's role or reach.
            r"\b(?:isn't|is not|wasn't|was not|not) (?:really )?(?:down to|on|up to) (?:me|us)\b",
            r"\bnot (?:my|our) (?:circus|monkeys|decision|shout|lookout)\b",
            r"\b(?:I'm|I am|we're|we are) not (?:set up|able|allowed|authori[sz]ed|trained|meant|supposed) to (?:deal with|handle|help with|sort|answer|change|look at|do) (?:that|this|those|it|these)\b",
            r"\b(?:I'm|I am) (?:only|just) (?:covering|filling in|temping|standing in|new here|passing (?:it |this |that )?on)\b|\bI (?:just|only) work here\b",
            r"\b(?:my|our) hands are tied\b",
            r"\b(?:above|beyond) my (?:head|level|pay ?grade|remit|station)\b",
            r"\boutside (?:what (?:I|we) can (?:help with|do)|(?:my|our) (?:remit|area))",
            r"\b(?:my|our) system (?:doesn't|does not|won't|can't|cannot|isn't)\b",
            r"\bnothing (?:more |else |much |further )?(?:I|we|anyone|anybody|this side|this end|from here|our side|our end) (?:can|could) (?:do|say)\b",
            # Rubric 2026-12-01.6, from the second fresh set's misses (after it was scored once).
            rf"\b(?:dealt with|handled|looked after|decided|covered|done|sorted) by {PARTY}",
            rf"{PARTY}[^.?!]{{0,30}}\byou (?:can|could) (?:chase|ask|call|ring|speak to|talk to|contact|email|try)\b",
            r"\bpass(?:ing)? on (?:the |a |your )?message\b|\bcan'?t promise (?:any ?one|some ?one|any ?body|they) will\b",
            rf"\b(?:she|he|they|the customer)(?:'ll| will|'d| would)? (?:have|need) to (?:write to|call|ring|ask|contact|speak to|talk to|email|go to|raise it with|chase|complain to)\s+{PARTY}",
            rf"\b(?:is|are|sits|lies|rests) (?:really |all |now )?(?:on|with|up to|down to) {PARTY}",
            # Rubric 2026-12-01.7, from the third fresh set's misses (after it was scored once).
            r"\b(?:down to|up to|for) (?:the customer|the policyholder|the claimant|you|them) to (?:chase|sort|ring|call|contact|deal with|follow (?:it )?up)\b",
            r"\bnot the (?:right|best) (?:person|people|team|desk|department)\b",
            r"\bno point (?:chasing|asking|ringing|calling|emailing|arguing with) (?:me|us)\b",
            r"\bI(?:'ve| have)? (?:passed|sent|handed|forwarded|referred) (?:it|this|that|your \w+)(?: on| over)? (?:to|over to)\b",
            r"\b(?:I|we) only (?:handle|do|deal with|cover|look after|process|log|take) \w+",
            r"\bnot (?:something|anything) (?:that )?(?:I|we|our (?:\w+ )?team|my (?:\w+ )?team|this (?:team|desk)) (?:\w+ )?(?:deal|deals|handle|handles|do|does|look after|looks after|cover|covers)\b",
        ),
        examples=(
            "That is not my department, you will have to call claims.",
            "There's nothing I can do, it is out of my hands.",
            "You need to take that up with finance, not me.",
            "The system lost it, it is not our fault.",
        ),
        negatable=False,
    ),
    BehaviourRule(
        Behaviour.NEXT_STEP_AND_TIME,
        Block.SERVE,
        1,
        "Names a next step and a time",
        "Says what will happen next and by when.",
        cues=(
            r"\b(I|we)('ll| will| am going to|'m going to| are going to|'re going to)\b",
            r"\b(I|we) (can|could|shall) (call|ring|send|email|confirm|update|get|have|meet|book)",
            r"\b(let's|let us) (meet|talk|speak|agree|book|sit down|catch up|check in|set|try|call)",
            r"\b(you'll|you will) (hear|have|get|receive)",
            r"\bexpect (a|an|my|the) (call|email|update|answer|reply)",
            r"\b(the|your) (payment|letter|email|update|call|decision|refund|form|answer) (will|should) (be|arrive|go|reach)",
            r"\bI('ve| have) (booked|set up|put in|sent|scheduled)",
            r"\bnext step\b",
            r"\b(let's|let us) \w+",
            r"\b(can|could|shall) (we|I) \w+",
            r"\bgive me (\d+|a|an|ten|five|twenty|thirty|half an) \w+",
            r"\bwill be (at|with|in|there|ready|done|sent|paid)\b",
            r"\b(should|will) (arrive|land|reach|go out|be there)\b",
            r"\b(goes|go|going) out (in|by|on|today|tonight|tomorrow)",
            r"\b(call|ring|email|update|confirm to) you (back )?(by|before|at|today|tomorrow|this|within|first)",
        ),
        examples=(
            "I will call you back by three o'clock today.",
            "You'll have the revised quote in your inbox before noon tomorrow.",
            "Let's meet on Thursday at ten to agree the plan.",
        ),
        needs_time=True,
    ),
    BehaviourRule(
        Behaviour.CUSTOMER_VIEW,
        Block.SERVE,
        1,
        "Brings in the customer",
        "Lifts the talk to the person at the end of the chain: the customer, and what it means for them.",
        cues=(
            r"\b(the|our|a|your|that|this|each|every) (customers?|policyholders?|clients?|claimants?|patients?|members?|end users?|families|family|broker'?s client)\b",
            r"\b(mrs?|ms|miss|mr)\.? [A-Z][a-z]+\b",
            r"\bthe (person|people) (waiting|on the other end|at the end|who)\b",
            r"\bfrom (their|the customer'?s|her|his) (side|point of view|perspective|shoes)\b",
            r"\bfor (the|our) (customer|policyholder|client)s?\b",
            r"\bsomeone('s| is) (waiting|out of pocket|without)\b",
            r"\b(somebody|someone)('s| is) (at home|out of pocket|waiting|without|sitting)",
            r"\b(a |one )?real (person|people|family)\b",
            r"\bthe (claimant|policyholder|member|patient)\b",
            r"\b(a |the )?(person|people|family) (waiting|without|at home|on the phone)\b",
        ),
        examples=(
            "Think about the customer who has been waiting three weeks for their money.",
            "What matters is the policyholder at the end of this.",
            "From the family's side this is their car and their job.",
        ),
        negatable=False,
    ),
    BehaviourRule(
        Behaviour.CHECKS_BACK,
        Block.COMMUNICATE,
        1,
        "Checks back with the person",
        "Asks whether what was said or agreed works for them, or what is missing.",
        cues=(
            r"\b(does|would|will) (that|this|it) (work|suit|help|be ok|be okay|be all right|be alright|sound (ok|okay|right|fair|good)|make sense|do)",
            r"\b(is|would) (that|this) (ok|okay|all right|alright|fair|acceptable|enough|right|what you need|useful|good for you)",
            r"\bhow (does|would) (that|this) (sound|work|feel|land)",
            r"\bhave I (got|understood|missed|left out)",
            r"\b(anything|something) (else|I('ve| have) missed|I('ve| have) left out)\b",
            r"\bdid I (get|understand) (that|it|this) right",
            r"\bam I (right|missing|on the right)",
            r"\bwhat do you think\b",
            r"\bare you (ok|okay|happy|comfortable|all right|alright) with\b",
            r"\bcan we agree\b",
            r"\bwould you (be happy|rather|prefer|like)",
            r"\bis there (anything|a better)",
            r"\b(sound|sounds) (ok|okay|fair|good|right)\?",
            r"\bcorrect me if\b",
            r"\bshall we\b",
            r"\blet me check I('ve| have) got\b",
            r"\b(does|would|will|is|was) (that|this|it) (\w+ ){0,2}(fair|feel|match|sound|work|right|ok|okay|suit)",
            r"\bam I being (fair|clear|reasonable)",
            r"\bcan you live with\b",
            r"\b(do you want|would you rather|would you like|shall I|should I)\b",
            r",? (correct|yes|right|ok|okay|agreed|fair)\?\s*$",
            r"\b(is|are) (there|you) (anything|ok|okay|happy|comfortable|clear)",
            r"\bis that (where we are|about right|the gist|the situation)\b",
        ),
        examples=(
            "Does that work for you?",
            "Have I understood that correctly?",
            "Is there anything I've missed?",
            "How does that sound to you?",
        ),
        needs_question=True,
    ),
    BehaviourRule(
        Behaviour.ACKNOWLEDGES_FEELING,
        Block.COMMUNICATE,
        1,
        "Acknowledges how they feel",
        "Names or accepts the other person's feeling before solving.",
        cues=(
            r"\bI can (hear|see|tell|imagine|understand) (how|that|why|you('re| are))",
            r"\b(that|this|it) (sounds|must (be|have been|feel)|must've been) (really |so |incredibly |very )?(frustrating|awful|hard|stressful|difficult|rough|exhausting|a lot|maddening|upsetting|annoying|embarrassing|horrible)",
            r"\bI('m| am) (really |so |very )?sorry (that|you|for|to hear|about)",
            r"\bno wonder you('re| are| were)\b",
            r"\bI (get|understand) (why|that) you('re| are| were| feel)",
            r"\b(you('re| are)|you've been) (right|entitled) to be (annoyed|upset|angry|frustrated|cross)",
            r"\bthat's (not fair|a rotten|a horrible|a tough|a rough|a lot)",
            r"\bsounds like (a|an) (awful|horrible|rough|tough|long|hard|terrible) (day|week|morning|shift)",
            r"\bI'd be (frustrated|annoyed|upset|angry|furious|cross) too\b",
            r"\bhow are you (doing|holding up|feeling)\b",
            r"\byou (sound|seem) (really |very |pretty )?(upset|frustrated|stressed|fed up|tired|worn out|annoyed|angry)",
            r"\bsounds like you('ve| have| are|'re) (been )?(fighting|carrying|dealing|had|under|stuck|on your own)",
            r"\b(that|this|it) can'?t (be|have been) easy\b",
            r"\bwhat a (day|week|morning|shift|nightmare)\b",
            r"\bmust (have been|be) a (shock|nightmare|blow|worry)\b",
            r"\bI can tell (this|that|you)\b",
            r"\bI appreciate (you|that) (being|telling|saying|sharing)\b",
            r"\b(rough|tough|hard|long) (day|morning|week|shift)\b",
            r"^I('m| am) (so |really |very |truly )?sorry\b",
            r"\b(felt|feel|feeling) (so |really )?(awful|terrible|horrible|let down|ignored|blamed|stuck|alone|embarrassed|exposed)",
            r"\b(that's|that is|that was) (awful|terrible|horrible|rotten|hard|tough|frustrating|rubbish|a shame)\b",
            r"\bI know (it's|this is|that's|it is|this has been) (hard|difficult|a lot|frustrating|annoying|tough|not easy)",
            r"\bI'd be (frustrated|annoyed|upset|angry|furious|cross|fed up)\b",
            # Rubric 2026-12-01.6.
            r"\bI (completely |totally |really |can |do )?(see|understand|get) why you('re| are| were| feel| might)",
            r",? I('m| am) (so |really |very |truly )?sorry[.!]?$",
            r"\b(isn't|is not|wasn't|was not) (your fault|fair on you|fair that you)\b",
        ),
        examples=(
            "I can hear how frustrating this has been for you.",
            "That sounds like an awful morning, I'm sorry.",
            "No wonder you're fed up after being let down twice.",
        ),
    ),
)


def default_rubric() -> Rubric:
    """The shipped rubric."""
    return Rubric(version=RUBRIC_VERSION, behaviours=BEHAVIOURS)


# Raised whenever a cue, an example or the scoring changes, so attempts say which rubric scored them.
RUBRIC_VERSION = "2026-12-01.7"
