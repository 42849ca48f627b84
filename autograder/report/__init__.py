"""Renderers of results: each turns SubmissionResult objects into one format, and computes nothing."""
