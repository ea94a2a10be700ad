"""The ordering decision: orchestrations after the CLU projects they route to, from observed state alone."""

from __future__ import annotations

from shared.replication.dependencies import (
    DependencyGraph,
    DependencyState,
    DependencyStatus,
    Readiness,
    build_graph,
    gate,
    replication_order,
    unreplicated_dependencies,
    unreplicated_risk,
)

KINDS = {"Coffee": "Conversation", "Tea": "Conversation", "Desk": "Orchestration", "Lobby": "Orchestration",
         "Loans": "CustomEntityRecognition"}
ALL = set(KINDS)


def status(**states: DependencyState):
    return lambda name: DependencyStatus(states.get(name, DependencyState.REPLICATED), "")


def test_orchestrations_come_after_their_clu_projects_whatever_the_settings_order():
    graph = build_graph({"Desk": ["Coffee", "Tea"], "Lobby": ["Tea"]}, KINDS, ALL)
    order = replication_order(["Desk", "Loans", "Lobby", "Tea", "Coffee"], graph)
    assert order.index("Desk") > order.index("Coffee") and order.index("Desk") > order.index("Tea")
    assert order.index("Lobby") > order.index("Tea")
    # Otherwise the settings order stands.
    assert order == ["Loans", "Tea", "Lobby", "Coffee", "Desk"]


def test_a_dependency_outside_the_batch_does_not_hold_the_order_back():
    graph = build_graph({"Desk": ["Coffee"]}, KINDS, ALL)
    assert replication_order(["Desk", "Loans"], graph) == ["Desk", "Loans"]


def test_a_replicated_dependency_lets_the_orchestration_start():
    graph = build_graph({"Desk": ["Coffee"]}, KINDS, ALL)
    assert gate("Desk", graph, status()).ready
    assert gate("Coffee", graph, status()).ready  # a CLU project depends on nothing


def test_a_dependency_under_way_or_never_replicated_makes_the_orchestration_wait():
    graph = build_graph({"Desk": ["Coffee", "Tea"]}, KINDS, ALL)
    decided = gate("Desk", graph, lambda name: DependencyStatus(
        DependencyState.UNDER_WAY if name == "Coffee" else DependencyState.NOT_YET, "run r1"
        if name == "Coffee" else ""))
    assert decided.readiness is Readiness.WAITING
    assert decided.reasons[0] == ("waiting for the run of CLU project 'Coffee', which it routes to (run r1): "
                                  "its training reads that project on the target")
    assert "'Tea'" in decided.reasons[1] and "not been replicated to this target yet" in decided.reasons[1]


def test_a_failed_dependency_blocks_only_its_dependants_and_names_itself():
    graph = build_graph({"Desk": ["Coffee"], "Lobby": ["Tea"]}, KINDS, ALL)
    states = status(Coffee=DependencyState.FAILED)
    blocked = gate("Desk", graph, states)
    assert blocked.readiness is Readiness.BLOCKED
    assert "the replication of CLU project 'Coffee', which it routes to, failed" in blocked.reasons[0]
    assert gate("Lobby", graph, states).ready
    assert gate("Loans", graph, states).ready


def test_a_missing_or_unreplicated_or_wrong_kind_target_is_an_error_of_that_orchestration_alone():
    graph = build_graph({"Desk": ["Gone", "Loans", "Lobby"], "Lobby": ["Coffee"]}, KINDS,
                        ALL - {"Coffee"})
    desk = gate("Desk", graph, status())
    assert desk.readiness is Readiness.ERROR
    assert desk.reasons == (
        "'Desk' cannot be replicated: it routes to CLU project 'Gone', which does not exist on the primary",
        "'Desk' cannot be replicated: it routes to CLU project 'Loans', whose kind is "
        "CustomEntityRecognition, not Conversation (CLU)",
        "'Desk' cannot be replicated: it routes to CLU project 'Lobby', whose kind is Orchestration, "
        "not Conversation (CLU)",
    )
    lobby = gate("Lobby", graph, status())
    assert lobby.readiness is Readiness.ERROR and "which is not replicated" in lobby.reasons[0]


def test_a_cycle_is_named_and_keeps_its_members_last():
    graph = DependencyGraph({"A": ("B",), "B": ("A",), "C": ()})
    found = build_graph({"A": ["B"], "B": ["A"]}, {"A": "Conversation", "B": "Conversation"}, {"A", "B"})
    assert found.problems["A"] == ("its dependencies form a cycle: A -> B -> A",)
    assert gate("B", found, status()).readiness is Readiness.ERROR
    assert replication_order(["A", "B", "C"], graph) == ["C", "A", "B"]


def test_dependants_are_listed_for_a_finished_dependency():
    graph = build_graph({"Desk": ["Coffee"], "Lobby": ["Coffee", "Tea"]}, KINDS, ALL)
    assert graph.dependants("Coffee") == ["Desk", "Lobby"]
    assert graph.dependants("Tea") == ["Lobby"]


def test_a_clu_project_not_replicated_is_one_decision_for_the_start_and_the_drift_risk():
    replicated = {"Desk", "Tea"}
    assert unreplicated_dependencies(["Tea", "Coffee"], replicated.__contains__) == ("Coffee",)
    graph = build_graph({"Desk": ["Coffee", "Tea"]}, KINDS, replicated)
    [problem] = graph.problems["Desk"]
    risk = unreplicated_risk(("Coffee",))
    # The same words in both: the start's error and the drift report's risk name the project and setting.
    assert problem == "it routes to CLU project 'Coffee', which is not replicated (add it to " \
                      "REPLICATED_PROJECTS, or replicate `*`)"
    assert risk.startswith(problem)
