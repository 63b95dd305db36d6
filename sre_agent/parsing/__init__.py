"""Parsers that turn input files into structures the analyzers can query."""
