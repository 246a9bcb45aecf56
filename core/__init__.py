"""Pure, deterministic contracts and maths shared by workflows, activities and the API.

Nothing in this package does I/O or reads settings: workflow code imports it through the
Temporal sandbox's pass-through, so it must stay deterministic.
"""
