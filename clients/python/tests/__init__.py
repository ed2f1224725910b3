"""Tests of the Modelkeep Python client (python3 -m unittest discover -s tests -t .)."""
