"""Property-based fuzzing of the voice webhooks and the REST API on the real stack.

Hypothesis draws hostile values (strategies.py) and whole, often broken, requests (bodies.py);
each test sends them to the in-process app with a real worker and checks that no answer is a
5xx, that every answer has the documented shape, and that a rejected request writes nothing
(harness.py).
"""
