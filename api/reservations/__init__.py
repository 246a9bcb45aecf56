"""Reservations: the resources a check holds and an order claims, with their history."""
