"""`vpclab fuzz`: a differential fuzzer of trace against the live data plane."""
