"""The domain: plain functions taking a session. Nothing here imports Flask."""
