"""Mail: notifications delivered over SMTP, and replies and new requests received by mail."""
