"""Scripted failure-injection experiments with measured timelines (see harness.py)."""
