"""The parameters a run scores ENF-LINK with: the model fixed on the run at its start, or the defaults.

Cached per process by model id: a model's row never changes, so a retried partition, or a run
repeated under the same model, scores exactly as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from crossref.linkage.model import DEFAULT, Parameters
from crossref.models import LinkageModel


@lru_cache(maxsize=16)
def parameters_of(model_id: int) -> Parameters:
    """The parameters of a stored model."""
    row = LinkageModel.objects.get(pk=model_id)
    return Parameters.from_json(
        row.parameters, version=f"v{row.version}", trained=dict(row.training or {})
    )


def parameters_for(run: Any, *, candidate: bool = False) -> Parameters:
    """What `run` scores with: its model's parameters, or `DEFAULT` when it has none.

    `candidate`: the shadow run's candidate model instead, when it has one.
    """
    model_id = getattr(run, "linkage_model_id", None)
    if candidate and getattr(run, "linkage_candidate_id", None):
        model_id = run.linkage_candidate_id
    return parameters_of(int(model_id)) if model_id else DEFAULT


def current_model() -> LinkageModel | None:
    """The model a new run takes."""
    return LinkageModel.objects.current()
