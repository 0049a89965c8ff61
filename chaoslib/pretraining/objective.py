"""The pretraining objective: masked LM at the chosen positions plus sentence-order prediction.

The vocabulary projection is applied only at the masked positions (about 15% of the tokens), which
is where ALBERT's loss is defined; projecting every position, as ``AlbertForPreTraining.forward``
does, costs several times more for the same loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import AlbertForPreTraining

from chaoslib.data.masking import IGNORE_INDEX, MaskedBatch
from chaoslib.data.tokenization import Encoded


@dataclass
class ObjectiveOutput:
    """Losses (scalars, differentiable) and counts for metrics (python numbers)."""

    loss: torch.Tensor
    mlm_loss: torch.Tensor
    sop_loss: torch.Tensor
    mlm_correct: int
    n_masked: int
    sop_correct: int
    n_sequences: int


def pretraining_objective(
    model: AlbertForPreTraining, encoded: Encoded, masked: MaskedBatch, sop_labels: torch.Tensor
) -> ObjectiveOutput:
    """MLM + SOP loss of one batch.

    encoded: the unmasked batch, (batch, tokens) (token types and attention mask are used);
    masked: its masking (``input_ids`` and ``labels`` (batch, tokens)); sop_labels: (batch,), 1 = swapped.
    """
    out = model.albert(
        input_ids=masked.input_ids,
        attention_mask=encoded.attention_mask,
        token_type_ids=encoded.token_type_ids,
    )
    selected = masked.labels != IGNORE_INDEX  # (batch, tokens)
    targets = masked.labels[selected]  # (n_masked,)
    logits = model.predictions(out.last_hidden_state[selected]).float()  # (n_masked, vocab)
    mlm_loss = F.cross_entropy(logits, targets)
    sop_logits = model.sop_classifier(out.pooler_output).float()  # (batch, 2)
    sop_loss = F.cross_entropy(sop_logits, sop_labels)
    return ObjectiveOutput(
        loss=mlm_loss + sop_loss,
        mlm_loss=mlm_loss,
        sop_loss=sop_loss,
        mlm_correct=int((logits.argmax(-1) == targets).sum()),
        n_masked=int(targets.numel()),
        sop_correct=int((sop_logits.argmax(-1) == sop_labels).sum()),
        n_sequences=int(sop_labels.numel()),
    )
