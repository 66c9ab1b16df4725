"""The words people write in the demo history: needs, questions, updates, promises, feedback."""

from __future__ import annotations

CUSTOMERS = (
    "Mrs Adaeze Okafor",
    "Mr Peter Walsh",
    "Ms Hannah Goldberg",
    "Mr Tariq Hussain",
    "Mrs Joan Pritchard",
    "Mr Luca Bianchi",
    "Ms Erin O'Neill",
    "Mr David Chen",
    "Mrs Sarah Lloyd",
    "Mr Kwame Boateng",
    "Ms Priti Desai",
    "Mr George Hammond",
    "Mrs Maria Santos",
    "Mr Callum Fraser",
    "Ms Zainab Bello",
    "Mr Robert Ellis",
    "Mrs Agnieszka Nowak",
    "Mr Simon Marsh",
    "Ms Chloe Dubois",
    "Mr Imran Qureshi",
)

NEEDS = (
    "The customer is waiting on this before we can settle.",
    "We promised the customer an answer this week.",
    "Without this the claim cannot move forward.",
    "The customer has called twice about it.",
    "This is holding up the renewal.",
    "Needed for month-end reporting.",
)

CONTEXTS = (
    "Customer called this morning.",
    "Found while reviewing the file.",
    "Raised by the broker.",
    "",
    "",
)

QUESTIONS = (
    "Which policy number is this about? The claim links to two.",
    "Can you send the customer's signed form?",
    "Is the change from the start date or from today?",
    "Which address is correct, the one on the claim or the proposal?",
    "Do you have the garage's invoice?",
)
ANSWERS = (
    "It is the second one; I've added it to the notes.",
    "Attached now.",
    "From the start date, please.",
    "The one on the proposal form is correct.",
    "Yes, uploaded to the claim file.",
)

OUTSIDE_WAITS = (
    "Waiting for the garage's invoice",
    "Waiting for the broker to confirm",
    "Waiting for the bank to return the payment",
    "Waiting for the loss adjuster's report",
    "Waiting for the supplier's fix",
)
REQUESTER_WAITS = (
    "Waiting for the customer's signed form",
    "Waiting for photos from the customer",
)

UPDATES = (
    "Picked up; checking the file now.",
    "Halfway through; no problems so far.",
    "Still on it — waiting for a second check.",
    "Checked the history; the fix is clear, doing it now.",
    "Sorry for the wait, this is next in my queue.",
    "Done the main part; final checks tomorrow morning.",
)

PROMISES = (
    "Call you back by {time} with the answer",
    "Send the corrected document by {time}",
    "Confirm the payment date by {time}",
    "Email you the outcome by {time}",
    "Ring the customer by {time}",
)
KEEP_NOTES = (
    "Called as promised.",
    "Sent; check your inbox.",
    "Done and confirmed by email.",
    "Customer called and updated.",
)

DECLINE_TO_PERSON = (
    "On leave from tomorrow — please give it to someone else.",
    "I'm on the month-end run all week.",
    "Not my area; Dawn knows these best.",
)
DECLINE_TO_TEAM = (
    "Not ours — this needs {team}.",
    "We can't change this; it sits with {team}.",
    "Wrong team: {team} handles these.",
)
HANDOFF_NOTES = (
    "This needs {team} as well — can you take it?",
    "Passing to {team}: their approval is needed.",
    "{team} owns this part.",
)
BOUNCE_NOTES = (
    "Back to you: our part is done, the rest is yours.",
    "Returning this — it's {a_team} change after all.",
)
TRIAGE_NOTES = (
    "Sounds like {team} — please take it.",
    "Routing to {team}.",
)
REOPEN_REASONS = (
    "Still wrong on the new document.",
    "The customer says nothing has changed.",
    "Only half of it was fixed.",
)

WITHDRAW_REASONS = (
    "The customer has cancelled the claim, so this is no longer needed.",
    "Sorted with the broker directly — no change needed after all.",
    "Raised by mistake: the policy was already correct when I looked again.",
    "The customer has moved to another insurer.",
)
# A duplicate: what the person merging it writes (the original is named by the product).
MERGE_NOTES = (
    "Same request raised twice — carrying on in the first one.",
    "Duplicate: a colleague raised this for the same customer this morning.",
    "Already in hand under the earlier request.",
)
# Why triage files an uncatalogued request under a service.
TRIAGE_SERVICE_REASONS = (
    "From the description this is {service}.",
    "Sounds like {service} — filing it there.",
)
# Why a request is filed under another service.
RECATEGORISE_REASONS = (
    "This is {service}, not what it was raised under.",
    "Filed under {service}: that is what the customer needs.",
    "The requester picked the nearest service; it is really {service}.",
)

GOOD_COMMENTS = (
    "Quick and clear, thank you.",
    "Kept me posted all the way.",
    "Exactly what I needed.",
    "",
    "",
)
POOR_COMMENTS = (
    "Took far too long and nobody told me why.",
    "The promised call-back never came.",
    "It went round three teams before anyone owned it.",
    "Fixed in the end, but I had to chase twice.",
)

PRAISE = (
    (
        "{title}",
        "You kept me updated before I had to ask",
        "I could tell the customer exactly when",
    ),
    ("{title}", "You called back when you said you would", "The customer trusted us again"),
    ("{title}", "You took it straight away and owned it to the end", "Nothing fell between teams"),
)
CONSTRUCTIVE = (
    (
        "{title}",
        "You promised a call-back and it didn't come",
        "The customer rang me twice and I had no answer",
    ),
    (
        "{title}",
        "The request came back to us without a note",
        "We lost a day working out what was needed",
    ),
    (
        "{title}",
        "There was no update until I chased",
        "I couldn't give the customer a date",
    ),
)


# Letters whose name starts with a vowel sound: "an HR change", "an MRI", but "a UK office".
_VOWEL_SOUNDING_LETTERS = frozenset("AEFHILMNORSX")


def with_article(phrase: str) -> str:
    """The phrase after "a" or "an" as it is said: "an Underwriting", "a Billing", "an IT
    Service Desk" (an abbreviation by the sound of its first letter's name)."""
    first = phrase.split(maxsplit=1)[0] if phrase.strip() else ""
    if len(first) > 1 and first.isupper():
        vowel_sound = first[0] in _VOWEL_SOUNDING_LETTERS
    else:
        vowel_sound = first[:1].lower() in ("a", "e", "i", "o", "u")
    return f"{'an' if vowel_sound else 'a'} {phrase}"


def claim_reference(seq: int) -> str:
    """A claim named in a request that is not linked to one of the desk's cases (the request
    came from a team that does not keep the case, or the claim predates the desk): an older
    reference, never one of the desk's own CLM-2026 cases."""
    return f"CLM-2025-{10_000 + seq % 80_000:05d}"
