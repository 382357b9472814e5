"""shorty: a link shortener."""
