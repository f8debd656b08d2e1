r"""Neural network layers, encoders, the LaMP model and its loss."""
from .attention import AttentionPolicy, attention_policy
from .conv import LaMPConv, DenseLaMPConv
from .label_graph import LabelGraph
from .models import LaMP, LaMPOutput, label_log_odds
from .loss import LaMPLoss, masked_bce_with_logits
from .dropout import Dropout, drop_feature_nodes
from .encoders import (
    AtomEmbedding,
    CategoricalEmbedding,
    FMPEncoder,
    FingerprintNodes,
    GINEncoder,
    molecule_encoder,
)
from .feature_encoders import (
    FeatureValueEmbedding,
    TokenEmbedding,
    feature_encoder,
)

__all__ = [
    'AttentionPolicy',
    'attention_policy',
    'LaMPConv',
    'DenseLaMPConv',
    'LabelGraph',
    'LaMP',
    'LaMPOutput',
    'label_log_odds',
    'LaMPLoss',
    'masked_bce_with_logits',
    'Dropout',
    'drop_feature_nodes',
    'AtomEmbedding',
    'CategoricalEmbedding',
    'FMPEncoder',
    'FingerprintNodes',
    'GINEncoder',
    'molecule_encoder',
    'TokenEmbedding',
    'FeatureValueEmbedding',
    'feature_encoder',
]
