"""`python -m shared`: the command line."""
