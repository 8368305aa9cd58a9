"""The intent: a topology file as a typed, validated, defaulted model (what `check` needs)."""
