"""Follow-up questions that react to what the candidate said: challenge, gap, deepen."""
