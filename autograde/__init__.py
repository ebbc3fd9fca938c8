"""Instructor grading for the course: release, collect an LMS download, grade in a sandbox.

``python -m autograde --help``; the Makefile's ``make release``, ``make collect`` and
``make grade`` are thin wrappers. See autograde/README.md.
"""
