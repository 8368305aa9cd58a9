"""The oracle: static reachability, AWS's rules followed hop by hop (what `trace` needs)."""
