from experiments.lossy_link import LossyLink

SCENARIO = LossyLink(
    name="lossy-link",
    description=(
        "srv2's underlay link drops 0 to 20 % of the packets each way; probes measure it, TCP suffers"
    ),
    topology="topologies/lossy-link.yaml",
    server="srv2",
    source="sender",
    target="receiver",
)
