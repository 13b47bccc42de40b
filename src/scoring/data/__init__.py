"""Package data: the lexicon, qualifier words and section titles (see lexicon.toml)."""
