"""The matching engine's maths: texts in, scores out. No Django imports, by design."""
