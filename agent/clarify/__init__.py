"""Clarify by meaning: which facts a clarifying question asks about (select), and how the
interviewer answers (repeats, off-sheet questions, pacing)."""
