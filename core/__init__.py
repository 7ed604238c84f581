"""The code every process shares, one package per role; `errors.py` is shared by all of them."""
