"""An action from a form (workorders/submit.py): stamped with the signed-in user, checked as
the worker checks it, a readable problem when a field is missing."""

from __future__ import annotations

import pytest

from workorders.submit import FormProblem, action_from_form
from workorders.users import User

HANDLER = User(
    user_id="li.na", role="department", departments=("D-B",), password_hash="$argon2id$x"
)


def test_the_form_becomes_an_action_of_the_signed_in_user() -> None:
    form = {"action": "verify", "truthful": "yes", "reasonable": "no", "category": "policy",
            "actor_role": "office", "actor": "someone-else"}  # fmt: skip
    action = action_from_form("E1", form, HANDLER)
    assert (action.actor, action.actor_role, action.actor_departments) == (
        "li.na", "department", ("D-B",),
    )  # fmt: skip  # never what the form claims
    assert action.truthful is True and action.reasonable is False and action.category == "policy"
    assert len(action.action_id) == 32


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ({"action": "verify"}, "truthful, reasonable, category: required"),
        ({"action": "route"}, "department_code: required"),
        ({"action": "dance"}, "action: must be one of"),
        ({"action": "verify", "truthful": "yes", "reasonable": "yes", "category": "x"},
         "category: must be one of"),
    ],
)  # fmt: skip
def test_a_form_that_makes_no_action_says_why(form: dict[str, str], why: str) -> None:
    with pytest.raises(FormProblem, match=why):
        action_from_form("E1", form, HANDLER)
