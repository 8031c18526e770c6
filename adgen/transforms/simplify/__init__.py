"""Simplification passes, each `Function -> Function` in a file of its own."""
