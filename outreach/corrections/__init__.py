"""Corrections at the door: a person added, a phone, a move, a death, an objection, a place."""
