from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import ModuleList, Parameter

from torch_geometric.data import Batch
from torch_geometric.utils import (
    add_self_loops,
    coalesce,
    to_dense_batch,
)

from lamp_geometric.nn._compat import autocast_dtype
from lamp_geometric.nn.attention import get_policy
from lamp_geometric.nn.conv import DenseLaMPConv, LaMPConv
from lamp_geometric.nn.dropout import drop_feature_nodes
from lamp_geometric.nn.encoders import encode
from lamp_geometric.nn.label_graph import LabelGraph
from lamp_geometric.nn.utils import validate_edge_index

def label_log_odds(prevalence: Tensor, num_labels: int,
                   eps: float = 1e-4) -> Tensor:
    r"""The log-odds :math:`\log(p / (1 - p))` of label prevalences
    :obj:`[L]`, with :math:`p` clipped to :math:`[\epsilon, 1 - \epsilon]`
    and NaN (a label never observed) read as :math:`0.5`: the bias with
    which a readout predicts the label frequencies.

    Raises:
        ValueError: If :obj:`prevalence` does not have shape
            :obj:`[num_labels]`.
    """
    p = torch.as_tensor(prevalence, dtype=torch.float)
    if p.shape != (num_labels, ):
        raise ValueError(f"'prevalence' must have shape [{num_labels}] (got "
                         f"{list(p.shape)})")
    p = torch.nan_to_num(p, nan=0.5).clamp(eps, 1 - eps)
    return torch.logit(p)


LABEL_GRAPHS = ('el', 'fc', 'pr')
PATHS = ('auto', 'sparse', 'dense')

Attention = Tuple[Tensor, Tensor]


@dataclass
class LaMPOutput:
    r"""What :class:`LaMP` returns.

    Attributes:
        logits (torch.Tensor): Final pre-sigmoid predictions :obj:`[B, L]`.
        stage_logits (list of torch.Tensor): The readout after every stage,
            in order :obj:`1.1` (feature-to-label of step 1), :obj:`1.2`
            (label-to-label of step 1), :obj:`2.1`, ...; the last one is
            :obj:`logits`.
        stage_names (list of str): The names of the stages.
        attention (dict, optional): If asked for, maps each stage name to
            :obj:`(edge_index, alpha)` in PyG's convention: :obj:`edge_index`
            :obj:`[2, E]` holds (source, destination) pairs -- feature node
            indices of the batch for ``x.1`` stages, label nodes
            :obj:`b * L + j` for ``x.2`` stages -- and :obj:`alpha`
            :obj:`[E, heads]` the attention coefficients.
    """
    logits: Tensor
    stage_logits: List[Tensor]
    stage_names: List[str]
    attention: Optional[Dict[str, Attention]] = field(default=None)

    @property
    def intermediate_logits(self) -> List[Tensor]:
        r"""The readouts of every stage but the last (for Eq. 21)."""
        return self.stage_logits[:-1]


class LaMP(torch.nn.Module):
    r"""Label Message Passing networks from the `"Neural Message Passing for
    Multi-Label Classification" <https://arxiv.org/abs/1904.08049>`_ paper.

    Labels are nodes.  Their initial states are the label embeddings
    :math:`\mathbf{u}_i^0 = \mathbf{W}^y_i`.  Each of :math:`T` steps updates
    them twice with the LaMP attention block (weights not shared across
    steps): first feature-to-label message passing over the complete
    bipartite graph from the sample's feature nodes (Eq. 10-11), then
    label-to-label message passing over the label graph :math:`G_{yy}`
    (Eq. 12-13).  The readout (Eq. 14) is

    .. math::
        \hat{y}_i = \sigma\left(\langle \mathbf{W}^o_i,
        \mathbf{u}_i^T \rangle + b_i\right)

    and is applied after every stage to give the intermediate predictions
    used by :class:`~lamp_geometric.nn.LaMPLoss` (Eq. 21).  The paper ties
    :math:`\mathbf{W}^o \equiv \mathbf{W}^y` and has no bias; its
    published numbers come from an untied readout (the original code sets
    the tie on an unused attribute), which also learns much faster here
    (``docs/differences.rst``).  So by default the readout is its own
    Xavier-initialised matrix, the label embeddings start from
    :math:`\mathcal{N}(0, 1)` as in the original code, and a per-label
    bias :math:`b_i` can start at the training log-odds
    (:meth:`set_label_prior`).  :obj:`tie_weights=True`,
    :obj:`readout_bias=False` give the paper's tied readout.

    Complete graphs (every feature-to-label stage, :obj:`'fc'` label graphs
    and dense priors) run on :class:`~lamp_geometric.nn.DenseLaMPConv`
    (one fused attention kernel); sparse priors and :obj:`'el'` run on
    :class:`~lamp_geometric.nn.LaMPConv` with a replicated
    :obj:`edge_index`.  Both paths have identical parameters and outputs.
    With :obj:`path='auto'` the current
    :class:`~lamp_geometric.nn.attention.AttentionPolicy` chooses them
    when the model is built (by density, or by the kind of a forced
    backend); within each layer it chooses the attention backend at every
    call.

    Args:
        num_labels (int): Number of labels :math:`L`.
        hidden_channels (int): Size :math:`d` of label (and feature)
            embeddings.
        encoder (torch.nn.Module, optional): Maps a PyG batch to feature
            node embeddings :obj:`[num_feature_nodes, feature_channels]`
            aligned with :obj:`data.batch` (see
            :mod:`lamp_geometric.nn.encoders`).  Only needed for
            :meth:`forward`; :meth:`forward_features` takes embeddings
            directly. (default: :obj:`None`)
        steps (int, optional): Number of steps :math:`T`. (default: :obj:`2`)
        heads (int, optional): Number of attention heads :math:`K`.
            (default: :obj:`4`)
        dropout (float, optional): Dropout probability. (default: :obj:`0.`)
        label_graph (LabelGraph or str, optional): The label graph
            :math:`G_{yy}`, a :class:`~lamp_geometric.nn.LabelGraph` (e.g.
            from :func:`lamp_geometric.graphs.label_graph`), or its kind:
            :obj:`'el'` (edgeless: each label only attends to itself),
            :obj:`'fc'` (fully connected) or :obj:`'pr'` (a known prior
            given by :obj:`label_edge_index`). (default: :obj:`'fc'`)
        label_edge_index (torch.Tensor, optional): With
            :obj:`label_graph='pr'`: the prior label graph :obj:`[2, E]`
            (source, destination); self loops are added (every label also
            attends to itself, as in the paper) and duplicates removed.
            (default: :obj:`None`)
        feature_channels (int, optional): Size of the encoder's output if it
            differs from :obj:`hidden_channels`. (default: :obj:`None`)
        tie_weights (bool, optional): If set to :obj:`True`, the readout
            shares :math:`\mathbf{W}^y` (the paper's Eq. 14) instead of
            having its own weight. (default: :obj:`False`)
        readout_bias (bool, optional): If set to :obj:`True`, the readout
            adds a learned per-label bias :math:`b_i` (zero until
            :meth:`set_label_prior` sets it). (default: :obj:`True`)
        label_init_std (float, optional): Standard deviation of the initial
            label embeddings. (default: :obj:`None`: :obj:`1` as in the
            original code, or :math:`1/\sqrt{d}` with a tied readout, whose
            logits would otherwise start saturated)
        path (str, optional): :obj:`'auto'`, :obj:`'sparse'` or
            :obj:`'dense'`: force one implementation for every stage, or let
            the model choose by graph density. (default: :obj:`'auto'`)
        dense_threshold (float, optional): With :obj:`path='auto'`, label
            graphs at least this dense use the dense path.
            (default: :obj:`None`: the measured threshold of the current
            :class:`~lamp_geometric.nn.attention.AttentionPolicy` for the
            head dimension :obj:`hidden_channels // heads`, from its
            ``dense_threshold_for``)
        feature_node_dropout (float, optional): During training, each
            feature node is left out of every feature-to-label stage with
            this probability (each sample keeps at least one;
            :func:`~lamp_geometric.nn.drop_feature_nodes`).  Not in the
            paper: word dropout for small training sets.
            (default: :obj:`0.`)
    """
    def __init__(
        self,
        num_labels: int,
        hidden_channels: int,
        encoder: Optional[torch.nn.Module] = None,
        steps: int = 2,
        heads: int = 4,
        dropout: float = 0.,
        label_graph: Union[str, LabelGraph] = 'fc',
        label_edge_index: Optional[Tensor] = None,
        feature_channels: Optional[int] = None,
        tie_weights: bool = False,
        path: str = 'auto',
        dense_threshold: Optional[float] = None,
        readout_bias: bool = True,
        label_init_std: Optional[float] = None,
        feature_node_dropout: float = 0.,
    ):
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"'num_labels' must be positive (got "
                             f"{num_labels})")
        if steps < 1:
            raise ValueError(f"'steps' must be at least 1 (got {steps})")
        if not 0.0 <= feature_node_dropout < 1.0:
            raise ValueError(f"'feature_node_dropout' must be in [0, 1) "
                             f"(got {feature_node_dropout})")
        if isinstance(label_graph, LabelGraph):
            if label_graph.num_labels != num_labels:
                raise ValueError(f"The label graph has "
                                 f"{label_graph.num_labels} labels, the "
                                 f"model {num_labels}")
            if label_edge_index is not None:
                raise ValueError("'label_edge_index' is not used with a "
                                 "LabelGraph (its edges are inside it)")
            if label_graph.kind == 'pr':
                label_edge_index = label_graph.edge_index
            label_graph = label_graph.kind
        if label_graph not in LABEL_GRAPHS:
            raise ValueError(f"'label_graph' must be one of {LABEL_GRAPHS} "
                             f"(got '{label_graph}')")
        if path not in PATHS:
            raise ValueError(f"'path' must be one of {PATHS} (got '{path}')")
        if label_graph == 'pr' and label_edge_index is None:
            raise ValueError("label_graph='pr' needs 'label_edge_index'")
        if label_graph != 'pr' and label_edge_index is not None:
            raise ValueError(f"'label_edge_index' is only used with "
                             f"label_graph='pr' (got '{label_graph}')")

        self.num_labels = num_labels
        self.hidden_channels = hidden_channels
        self.encoder = encoder
        self.steps = steps
        self.heads = heads
        self.dropout = dropout
        self.feature_node_dropout = feature_node_dropout
        self.label_graph = label_graph
        self.feature_channels = feature_channels or hidden_channels
        self.tie_weights = tie_weights
        self.label_init_std = label_init_std
        self.path = path
        head_channels = max(1, hidden_channels // max(1, heads))
        policy = get_policy()
        if dense_threshold is None:
            dense_threshold = policy.dense_threshold_for(head_channels)
        self.dense_threshold = dense_threshold

        L = num_labels
        if label_graph == 'el':
            edge_index = torch.arange(L).repeat(2, 1)
        elif label_graph == 'fc':
            edge_index = torch.ones(L, L).nonzero().t().flip(0)
        else:
            assert label_edge_index is not None
            edge_index = validate_edge_index(
                label_edge_index, L, allow_self_loops=False,
                name='label_edge_index')
            edge_index, _ = add_self_loops(edge_index, num_nodes=L)
            edge_index = coalesce(edge_index, num_nodes=L)
        self.register_buffer('label_edge_index', edge_index)

        self.label_emb = torch.nn.Embedding(L, hidden_channels)
        # With tying, the readout weight *is* the embedding parameter (see
        # the `readout_weight` property); otherwise it is its own parameter.
        self.readout_untied: Optional[Parameter] = None
        if not tie_weights:
            self.readout_untied = Parameter(torch.empty(L, hidden_channels))
        self.readout_bias: Optional[Parameter] = None
        if readout_bias:
            self.readout_bias = Parameter(torch.empty(L))

        if path == 'auto':
            policy = replace(policy, dense_threshold=dense_threshold)
            xy_dense = policy.dense_graph(None, head_channels)
            yy_dense = policy.dense_graph(
                0.0 if label_graph == 'el' else self.label_density,
                head_channels)
        else:
            xy_dense = yy_dense = path == 'dense'
        self.xy_dense, self.yy_dense = xy_dense, yy_dense
        xy_cls = DenseLaMPConv if xy_dense else LaMPConv
        yy_cls = DenseLaMPConv if yy_dense else LaMPConv
        in_xy = (self.feature_channels, hidden_channels)
        self.xy_convs = ModuleList([
            xy_cls(in_xy, hidden_channels, heads=heads, dropout=dropout)
            for _ in range(steps)
        ])
        self.yy_convs = ModuleList([
            yy_cls(hidden_channels, hidden_channels, heads=heads,
                   dropout=dropout) for _ in range(steps)
        ])
        self.reset_parameters()

    @property
    def graph(self) -> LabelGraph:
        r"""The model's label graph as a
        :class:`~lamp_geometric.nn.LabelGraph` (from
        :obj:`label_edge_index`, so it follows a loaded state dict)."""
        if self.label_graph != 'pr':
            return LabelGraph(self.label_graph, self.num_labels)
        return LabelGraph('pr', self.num_labels,
                          self.label_edge_index.cpu())

    @property
    def label_density(self) -> float:
        r"""Edges of the label graph (self loops included) divided by
        :math:`L^2`."""
        return self.label_edge_index.size(1) / self.num_labels**2

    def label_adj(self) -> Tensor:
        r"""The label graph as a boolean matrix :obj:`[L, L]` with
        :obj:`adj[i, j]` set when label :obj:`i` listens to label :obj:`j`.
        Built from :obj:`label_edge_index` on demand (only the dense path
        needs it), so it always follows a loaded state dict."""
        L, ei = self.num_labels, self.label_edge_index
        adj = torch.zeros(L, L, dtype=torch.bool, device=ei.device)
        adj[ei[1], ei[0]] = True
        return adj

    @property
    def stage_names(self) -> List[str]:
        r"""Names of the readout stages: ``['1.1', '1.2', '2.1', ...]``."""
        return [f'{t + 1}.{k}' for t in range(self.steps) for k in (1, 2)]

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        std = self.label_init_std
        if std is None:
            # Small label embeddings keep a tied readout <W^y_i, u_i> (u_i
            # is layer-normalised) at unit scale at initialisation.
            std = self.hidden_channels**-0.5 if self.tie_weights else 1.0
        torch.nn.init.normal_(self.label_emb.weight, std=std)
        if self.readout_untied is not None:
            torch.nn.init.xavier_normal_(self.readout_untied)
        if self.readout_bias is not None:
            torch.nn.init.zeros_(self.readout_bias)
        if self.encoder is not None and hasattr(self.encoder,
                                                'reset_parameters'):
            self.encoder.reset_parameters()
        for conv in list(self.xy_convs) + list(self.yy_convs):
            conv.reset_parameters()

    @property
    def readout_weight(self) -> Tensor:
        r"""The readout matrix :math:`\mathbf{W}^o` of Eq. 14: the label
        embedding parameter :math:`\mathbf{W}^y` itself when weights are
        tied."""
        if self.readout_untied is None:
            return self.label_emb.weight
        return self.readout_untied

    def readout(self, u: Tensor) -> Tensor:
        r"""Eq. 14 before the sigmoid: :obj:`[B, L, d]` -> :obj:`[B, L]`.

        Label states in a 16-bit float type (autocast) meet the readout
        matrix cast to their type, as in a :class:`~torch.nn.Linear` under
        autocast: the logits then have that type (the sum accumulates in
        float32).  A product of mixed types would take PyTorch's slow
        conversion path and a float32 :obj:`[B, L, d]` temporary, forward
        and backward (at :math:`L = 983` most of a bfloat16 training step's
        element-wise time)."""
        w = self.readout_weight
        if (u.dtype in (torch.bfloat16, torch.float16)
                and w.dtype == torch.float32):
            w = w.to(u.dtype)
        logits = (u * w).sum(dim=-1)
        if self.readout_bias is not None:
            logits = logits + self.readout_bias.to(logits.dtype)
        return logits

    @torch.no_grad()
    def set_label_prior(self, prevalence: Tensor) -> None:
        r"""Sets the readout bias to the log-odds of each label's training
        prevalence :obj:`[L]` (clipped to :math:`[10^{-4}, 1 - 10^{-4}]`),
        so that an untrained model predicts the label frequencies instead of
        :math:`0.5` for every label.

        Raises:
            RuntimeError: If the model has no readout bias.
            ValueError: If :obj:`prevalence` does not have shape :obj:`[L]`.
        """
        if self.readout_bias is None:
            raise RuntimeError("This LaMP model has no readout bias "
                               "(readout_bias=False)")
        self.readout_bias.copy_(
            label_log_odds(prevalence, self.num_labels).to(self.readout_bias))

    def forward(self, data: Batch,
                return_attention: bool = False) -> LaMPOutput:
        r"""Encodes the feature nodes of :obj:`data` with :obj:`encoder`
        and runs label message passing.

        Args:
            data (torch_geometric.data.Batch): A batch of samples.
            return_attention (bool, optional): If set to :obj:`True`, the
                output carries the attention of every stage.
                (default: :obj:`False`)
        """
        if self.encoder is None:
            raise RuntimeError("This LaMP model has no 'encoder'; call "
                               "'forward_features' with feature embeddings")
        z, batch, num_samples = encode(self.encoder, data)
        return self.forward_features(z, batch, num_samples,
                                     return_attention=return_attention)

    def forward_features(
        self,
        z: Tensor,
        batch: Tensor,
        num_samples: Optional[int] = None,
        return_attention: bool = False,
    ) -> LaMPOutput:
        r"""Runs label message passing on given feature node embeddings, e.g.
        the output of any PyG GNN.

        Args:
            z (torch.Tensor): Feature node embeddings
                :obj:`[num_feature_nodes, feature_channels]`.
            batch (torch.Tensor): Sample index of every feature node
                :obj:`[num_feature_nodes]`.
            num_samples (int, optional): Number of samples :math:`B` (samples
                may have no feature node). (default: :obj:`batch.max() + 1`)
            return_attention (bool, optional): If set to :obj:`True`, the
                output carries the attention of every stage.
                (default: :obj:`False`)
        """
        if z.dim() != 2 or z.size(-1) != self.feature_channels:
            raise ValueError(f"Expected feature embeddings of shape [N, "
                             f"{self.feature_channels}] (got "
                             f"{list(z.shape)})")
        if batch.shape != z.shape[:1]:
            raise ValueError(f"'batch' must have shape [{z.size(0)}] (got "
                             f"{list(batch.shape)})")
        if num_samples is None:
            num_samples = int(batch.max()) + 1 if batch.numel() > 0 else 0
        elif batch.numel() > 0 and int(batch.max()) >= num_samples:
            raise ValueError(f"'batch' holds sample index {int(batch.max())}"
                             f" but 'num_samples' is {num_samples}")
        if batch.numel() > 0 and int(batch.min()) < 0:
            raise ValueError("'batch' holds negative sample indices")
        B, L, d = num_samples, self.num_labels, self.hidden_channels
        if B == 0:  # An empty batch: empty outputs (no op handles B = 0).
            empty = z.new_zeros(0, L)
            return LaMPOutput(
                logits=empty, stage_logits=[empty] * len(self.stage_names),
                stage_names=self.stage_names,
                attention=({n: (batch.new_zeros(2, 0),
                                z.new_zeros(0, self.heads))
                            for n in self.stage_names}
                           if return_attention else None))

        z, batch = drop_feature_nodes(z, batch, self.feature_node_dropout,
                                      self.training)

        # Step 1 starts from the label embeddings, the same for every
        # sample: [1, L, d] lets the dense layer project them once.
        u = self.label_emb.weight.unsqueeze(0)
        amp_dtype = autocast_dtype(u.device.type)
        if amp_dtype is not None:
            # Under autocast the label states then stay in the low precision
            # dtype (LayerNorm keeps its input dtype); a float32 residual
            # would turn every later state into float32 and cost a cast
            # before every projection.
            u = u.to(amp_dtype)
        xy_graph = self._xy_graph(z, batch, B)
        yy_graph = self._yy_graph(B)

        stage_logits: List[Tensor] = []
        attention: Optional[Dict[str, Attention]] = (
            {} if return_attention else None)
        names = self.stage_names
        for t in range(self.steps):
            u, att = self._run(self.xy_convs[t], (z, u), xy_graph,
                               return_attention)
            stage_logits.append(self.readout(u))
            if attention is not None and att is not None:
                attention[names[2 * t]] = att
            u, att = self._run(self.yy_convs[t], u, yy_graph,
                               return_attention)
            stage_logits.append(self.readout(u))
            if attention is not None and att is not None:
                attention[names[2 * t + 1]] = att

        return LaMPOutput(logits=stage_logits[-1], stage_logits=stage_logits,
                          stage_names=names, attention=attention)

    # Graph plumbing ##########################################################

    def _xy_graph(self, z: Tensor, batch: Tensor, B: int) -> Dict:
        L = self.num_labels
        if self.xy_dense:
            perm: Optional[Tensor] = None
            if batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
                # to_dense_batch needs feature nodes grouped by sample.
                batch, perm = torch.sort(batch, stable=True)
                z = z[perm]
            z_pad, mask = to_dense_batch(z, batch, batch_size=B)
            ptr = torch.cat([mask.new_zeros(1, dtype=torch.long),
                             mask.sum(dim=1).cumsum(0)])
            return dict(dense=True, z_pad=z_pad, mask=mask, ptr=ptr,
                        perm=perm, num_samples=B)
        N = z.size(0)
        src = torch.arange(N, device=z.device).repeat_interleave(L)
        dst = (batch.repeat_interleave(L) * L +
               torch.arange(L, device=z.device).repeat(N))
        return dict(dense=False, edge_index=torch.stack([src, dst]),
                    num_samples=B)

    def _yy_graph(self, B: int) -> Dict:
        L = self.num_labels
        if self.yy_dense:
            adj = None if self.label_graph == 'fc' else self.label_adj()
            return dict(dense=True, adj=adj, num_samples=B)
        ei = self.label_edge_index
        # Edges sorted by destination (then source), replicated per sample
        # with offsets b * L: destinations stay sorted, so LaMPConv can use
        # the segment softmax.  O(E * B) memory, never O(L^2).
        order = torch.argsort(ei[1] * L + ei[0])
        ei = ei[:, order]
        offset = torch.arange(B, device=ei.device) * L
        ei = (ei.unsqueeze(1) + offset.view(1, -1, 1)).view(2, -1)
        return dict(dense=False, edge_index=ei, num_samples=B)

    def _run(
        self,
        conv: torch.nn.Module,
        x: Union[Tensor, Tuple[Tensor, Tensor]],
        graph: Dict,
        return_attention: bool,
    ) -> Tuple[Tensor, Optional[Attention]]:
        bipartite = isinstance(x, tuple)
        u = x[1] if isinstance(x, tuple) else x
        B, (L, d) = graph['num_samples'], u.shape[1:]
        if graph['dense']:
            if bipartite:
                inputs = (graph['z_pad'], u)
                kwargs = dict(mask=graph['mask'])
            else:
                inputs = u
                kwargs = dict(adj=graph['adj'])
            if not return_attention:
                return conv(inputs, **kwargs), None
            out, alpha = conv(inputs, return_attention_weights=True, **kwargs)
            return out, self._dense_to_sparse_attention(alpha, graph,
                                                        bipartite)
        if bipartite:
            inputs = (x[0], u.expand(B, L, d).reshape(B * L, d))
        else:
            inputs = u.reshape(B * L, d)
        if not return_attention:
            out = conv(inputs, graph['edge_index'])
            return out.view(B, L, -1), None
        out, att = conv(inputs, graph['edge_index'],
                        return_attention_weights=True)
        return out.view(B, L, -1), att

    def _dense_to_sparse_attention(self, alpha: Tensor, graph: Dict,
                                   bipartite: bool) -> Attention:
        # alpha: [B, H, L, S]
        B, H, L, S = alpha.shape
        if bipartite:
            allowed = graph['mask'].unsqueeze(1).expand(B, L, S)
        elif graph['adj'] is None:
            allowed = alpha.new_ones(B, L, S, dtype=torch.bool)
        else:
            allowed = graph['adj'].unsqueeze(0).expand(B, L, S)
        b, i, j = allowed.nonzero(as_tuple=True)
        dst = b * L + i
        if bipartite:
            src = graph['ptr'][b] + j
            if graph['perm'] is not None:  # back to the caller's node order
                src = graph['perm'][src]
        else:
            src = b * L + j
        return torch.stack([src, dst]), alpha.permute(0, 2, 3, 1)[b, i, j]

    def __repr__(self) -> str:
        extra = (f', feature_node_dropout={self.feature_node_dropout}'
                 if self.feature_node_dropout else '')
        return (f'{self.__class__.__name__}(num_labels={self.num_labels}, '
                f'hidden_channels={self.hidden_channels}, '
                f'steps={self.steps}, heads={self.heads}, '
                f'label_graph={self.label_graph}{extra})')
