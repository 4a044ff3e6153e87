"""Reading answers for meaning: a local embedding matcher (WordLlama, shipped in its wheel and
never downloaded) and the rules embeddings cannot do (negation, claims, numbers in words,
claims checked against the fact sheet)."""
