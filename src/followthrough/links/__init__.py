"""Signed action links: the one thing a message's reader should do, done from the message.

`links.service.action_link` makes a link for mail and chat; the link's page (`links.web`) shows
what it will do and acts only when the reader confirms (a POST), as the person the link was
made for and for nothing else.
"""
