"""The controller is killed, then restarted: the data plane forwards throughout."""

from experiments.harness import Probe, Scenario


def flow_counts(lab) -> dict:
    return {card.name: len(card.ofctl("dump-flows").splitlines()) - 1 for card in lab.servers}


def kill(lab) -> dict:
    before = flow_counts(lab)
    lab.kill_controller()
    return {"flows_before": before}


def restart(lab) -> dict:
    lab.restart_controller()
    return {"flows_after": flow_counts(lab), "cards": lab.card_status()}


SCENARIO = Scenario(
    name="controller-restart",
    description="Hyperplane is killed (SIGKILL), then restarted and reconciles every card",
    topology="topologies/tgw-incident.yaml",
    probes=[
        Probe("app1", "svc1", why="the cards keep their flows"),
        Probe("svc1", "db1", why="the cards keep their flows"),
    ],
    inject=kill,
    restore=restart,
    fault="controller killed",
    repair="controller restarted",
)
