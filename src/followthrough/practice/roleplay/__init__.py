"""Role plays: scenario files a participant plays alone, each free-text turn scored offline.

Apart from the business game: a scenario is a branching conversation with a character
(`scenario`), played by pure rules (`rules`), and every reply is scored against a rubric of
observable behaviours on the four building blocks (`rubric`, `scoring`) by phrase rules beside a
small static embedding model that ships its weights in its wheel (`embedding`).
"""
