r"""A reference model with the computational design of the original LaMP code
(QData/LaMP, ``lamp/`` at commit c4152b9), used as the baseline that every
benchmark reports its ratios against.

It is a re-implementation for timing, not for accuracy studies.  What it
keeps from the original, because that is what costs time and memory:

* **Dense everywhere.**  Graph structure is only a boolean mask that is
  repeated over heads and samples, ``[H * B, L_q, L_k]``, and filled with
  ``-inf`` before an explicit softmax; a label prior costs as much as the
  complete graph.
* **Multi-head attention** with bias-free ``w_qs``/``w_ks``/``w_vs``
  projections, heads folded into the batch dimension with
  ``permute(...).contiguous()``, scale ``1 / sqrt(d / H)``, dropout on the
  attention, a bias-free output projection ``fc`` and a post-LayerNorm
  residual (``LN(out + q)``).
* **Feed-forward** as two 1x1 ``Conv1d`` with ReLU (on transposed inputs),
  dropout, post-LayerNorm residual.  Hidden size :obj:`d_inner` (the
  benchmarks use :obj:`d_inner = d`, as :class:`lamp_geometric.nn.LaMP`).
* **Encoder** layers whose self-attention is computed and then discarded
  (``enc_output = self.pos_ffn(enc_input)``): only the feed-forward reaches
  the labels, but the attention is still paid for in the forward pass.
* **Decoder**: label embeddings gathered per sample, then per step
  feature-to-label attention (with the source padding mask), a feed-forward,
  label-to-label self-attention (masked by the prior, if any) and a second
  feed-forward.
* **Readout** as a full ``Linear(d, L)`` giving ``[B, L, L]`` followed by
  ``torch.diagonal`` (the tied weight is set on an unused attribute, so the
  readout is untied), and intermediate readouts from a *detached copy* of
  that weight repeated over the batch, ``bmm`` then ``diagonal``.
* **Loss**: mean BCE-with-logits on the final readout plus ``0.2`` times
  the BCE of each intermediate readout.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PAD = 0


class RefScaledDotProductAttention(nn.Module):
    def __init__(self, temperature: float, dropout: float = 0.1):
        super().__init__()
        self.temperature = temperature
        self.dropout = nn.Dropout(dropout)

    def forward(self, q: Tensor, k: Tensor, v: Tensor,
                attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        attn = torch.bmm(q, k.transpose(1, 2)) / self.temperature
        if attn_mask is not None:
            attn = attn.masked_fill(attn_mask, -math.inf)
        attn = torch.softmax(attn, dim=2)
        attn = self.dropout(attn)
        return torch.bmm(attn, v), attn


class RefMultiHeadAttention(nn.Module):
    def __init__(self, n_head: int, d_model: int, dropout: float = 0.1):
        super().__init__()
        d_k = d_model // n_head
        self.n_head, self.d_k, self.d_v = n_head, d_k, d_k
        self.w_qs = nn.Linear(d_model, n_head * d_k, bias=False)
        self.w_ks = nn.Linear(d_model, n_head * d_k, bias=False)
        self.w_vs = nn.Linear(d_model, n_head * d_k, bias=False)
        std = math.sqrt(2.0 / (d_model + d_k))
        for lin in (self.w_qs, self.w_ks, self.w_vs):
            nn.init.normal_(lin.weight, mean=0.0, std=std)
        self.attention = RefScaledDotProductAttention(d_k**0.5, dropout)
        self.layer_norm = nn.LayerNorm(d_model)
        self.fc = nn.Linear(n_head * d_k, d_model, bias=False)
        nn.init.xavier_normal_(self.fc.weight)
        self.dropout = nn.Dropout(dropout)

    def forward(self, q: Tensor, k: Tensor, v: Tensor,
                attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        d_k, d_v, n_head = self.d_k, self.d_v, self.n_head
        sz_b, len_q, _ = q.size()
        len_k, len_v = k.size(1), v.size(1)
        residual = q
        q = self.w_qs(q).view(sz_b, len_q, n_head, d_k)
        k = self.w_ks(k).view(sz_b, len_k, n_head, d_k)
        v = self.w_vs(v).view(sz_b, len_v, n_head, d_v)
        q = q.permute(2, 0, 1, 3).contiguous().view(-1, len_q, d_k)
        k = k.permute(2, 0, 1, 3).contiguous().view(-1, len_k, d_k)
        v = v.permute(2, 0, 1, 3).contiguous().view(-1, len_v, d_v)
        if attn_mask is not None:
            attn_mask = attn_mask.repeat(n_head, 1, 1)
        output, attn = self.attention(q, k, v, attn_mask=attn_mask)
        output = output.view(n_head, sz_b, len_q, d_v)
        output = output.permute(1, 2, 0, 3).contiguous().view(sz_b, len_q, -1)
        output = self.dropout(self.fc(output))
        return self.layer_norm(output + residual), attn


class RefPositionwiseFeedForward(nn.Module):
    def __init__(self, d_in: int, d_hid: int, dropout: float = 0.1):
        super().__init__()
        self.w_1 = nn.Conv1d(d_in, d_hid, 1)
        self.w_2 = nn.Conv1d(d_hid, d_in, 1)
        self.layer_norm = nn.LayerNorm(d_in)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        residual = x
        out = self.w_2(F.relu(self.w_1(x.transpose(1, 2)))).transpose(1, 2)
        return self.layer_norm(self.dropout(out) + residual)


class RefEncoderLayer(nn.Module):
    def __init__(self, d_model: int, d_inner: int, n_head: int,
                 dropout: float = 0.1):
        super().__init__()
        self.slf_attn = RefMultiHeadAttention(n_head, d_model, dropout)
        self.pos_ffn = RefPositionwiseFeedForward(d_model, d_inner, dropout)

    def forward(self, enc_input: Tensor,
                slf_attn_mask: Optional[Tensor] = None) -> Tensor:
        # As in the original: the self-attention is computed, then its
        # output is discarded and the feed-forward is applied to the input.
        _enc_output, _ = self.slf_attn(enc_input, enc_input, enc_input,
                                       attn_mask=slf_attn_mask)
        return self.pos_ffn(enc_input)


class RefDecoderLayer(nn.Module):
    def __init__(self, d_model: int, d_inner: int, n_head: int,
                 dropout: float = 0.1):
        super().__init__()
        self.enc_attn = RefMultiHeadAttention(n_head, d_model, dropout)
        self.pos_ffn1 = RefPositionwiseFeedForward(d_model, d_inner, dropout)
        self.slf_attn = RefMultiHeadAttention(n_head, d_model, dropout)
        self.pos_ffn2 = RefPositionwiseFeedForward(d_model, d_inner, dropout)

    def forward(self, dec_input: Tensor, enc_output: Tensor,
                slf_attn_mask: Optional[Tensor],
                dec_enc_attn_mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        out, _ = self.enc_attn(dec_input, enc_output, enc_output,
                               attn_mask=dec_enc_attn_mask)
        out = self.pos_ffn1(out)
        out_int = out
        out, _ = self.slf_attn(out, out, out, attn_mask=slf_attn_mask)
        return self.pos_ffn2(out), out_int


class ReferenceLaMP(nn.Module):
    r"""The original LaMP's computation (graph encoder + graph decoder with
    intermediate predictions), for timing comparisons.

    Args:
        num_tokens (int): Vocabulary of the feature tokens (index 0 is
            padding).
        num_labels (int): Number of labels :math:`L`.
        d_model (int): Hidden size :math:`d`.
        heads (int): Attention heads.
        steps (int): Decoder layers :math:`T` (the encoder gets as many).
        d_inner (int, optional): Feed-forward hidden size (default: :obj:`d`).
        dropout (float): Dropout everywhere.
        label_adj (torch.Tensor, optional): Boolean label prior ``[L, L]``
            (``adj[i, j]``: label :math:`i` attends to :math:`j`); :obj:`None`
            means fully connected (no mask, as the original's ``'none'``).
    """
    def __init__(self, num_tokens: int, num_labels: int, d_model: int = 512,
                 heads: int = 4, steps: int = 2,
                 d_inner: Optional[int] = None, dropout: float = 0.1,
                 label_adj: Optional[Tensor] = None):
        super().__init__()
        d_inner = d_inner or d_model
        self.num_labels = num_labels
        self.src_word_emb = nn.Embedding(num_tokens, d_model, padding_idx=PAD)
        self.enc_layers = nn.ModuleList([
            RefEncoderLayer(d_model, d_inner, heads, dropout)
            for _ in range(steps)
        ])
        self.tgt_word_emb = nn.Embedding(num_labels, d_model)
        self.register_buffer('constant_input', torch.arange(num_labels))
        self.dec_layers = nn.ModuleList([
            RefDecoderLayer(d_model, d_inner, heads, dropout)
            for _ in range(steps)
        ])
        if label_adj is not None:
            adj = label_adj.clone().bool()
            empty = (~adj.any(dim=1)).nonzero().view(-1)
            adj[empty, empty] = True  # the original's guard against NaN
            self.register_buffer('label_mask', ~adj)  # True = masked out
        else:
            self.label_mask = None
        self.tgt_word_proj = nn.Linear(d_model, num_labels, bias=False)
        nn.init.xavier_normal_(self.tgt_word_proj.weight)

    def forward(self, src_seq: Tensor,
                enc_adj: Optional[Tensor] = None) -> Tuple[Tensor, List[Tensor]]:
        r"""Args:
            src_seq (torch.Tensor): Feature tokens ``[B, S]`` (0 = padding).
            enc_adj (torch.Tensor, optional): Boolean feature graph
                ``[B, S, S]`` for the (discarded) encoder attention.

        Returns the final logits ``[B, L]`` and the intermediate logits.
        """
        B, S = src_seq.shape
        pad = src_seq.eq(PAD)  # [B, S]
        enc_mask = pad.unsqueeze(1).expand(B, S, S)
        if enc_adj is not None:
            enc_mask = enc_mask | ~enc_adj
        enc_mask = enc_mask.to(torch.uint8).bool()
        enc = self.src_word_emb(src_seq)
        for layer in self.enc_layers:
            enc = layer(enc, slf_attn_mask=enc_mask)

        L = self.num_labels
        tgt_seq = self.constant_input.view(-1, 1).repeat(1, B).t()
        dec = self.tgt_word_emb(tgt_seq)  # [B, L, d]
        dec_enc_mask = pad.unsqueeze(1).expand(B, L, S)
        slf_mask = None
        if self.label_mask is not None:
            slf_mask = self.label_mask.unsqueeze(0).repeat(B, 1, 1)
        int_outs: List[Tensor] = []
        for layer in self.dec_layers:
            dec, dec_int = layer(dec, enc, slf_mask, dec_enc_mask)
            int_outs += [dec_int, dec]

        logits = torch.diagonal(self.tgt_word_proj(dec), 0, 1, 2)
        w = self.tgt_word_proj.weight.data.detach().repeat(B, 1, 1)
        inter = [
            torch.diagonal(torch.bmm(out, w.transpose(1, 2)), 0, 1, 2)
            for out in int_outs[:-1]
        ]
        return logits, inter


def reference_loss(logits: Tensor, inter: List[Tensor], target: Tensor,
                   lambda_int: float = 0.2) -> Tensor:
    r"""The original's training loss: mean BCE of the final readout plus
    :obj:`lambda_int` times the BCE of every intermediate readout."""
    loss = F.binary_cross_entropy_with_logits(logits, target)
    for x in inter:
        loss = loss + lambda_int * F.binary_cross_entropy_with_logits(
            x, target)
    return loss
