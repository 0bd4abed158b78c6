"""SuperGradients' ViT (classification_models/vit.py: ViTBase, ViTLarge, ViTHuge) in plain
PyTorch: SG's attribute names and order (PatchEmbed: proj, norm; Attention: attend, to_qkv,
proj; FeedForward: fc1, act, dropout, fc2; TransformerBlock: layers, norm1, attn, norm2, mlp;
ViT: patch_embedding, cls_token, pos_embedding, dropout, transformer, pre_head_norm, head),
LayerNorm eps 1e-6, exact GELU, one qkv Linear, scale dim_head ** -0.5, and SG's init
(cls token and position embedding randn, the rest PyTorch's defaults). SG's einops
repeat of the cls token is an expand here."""

import torch
import torch.nn as nn

# name: (hidden_dim, depth, heads, mlp_dim)
SIZES = {"vit_base": (768, 12, 12, 3072), "vit_large": (1024, 24, 16, 4096), "vit_huge": (1280, 32, 16, 5120)}


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_channels, hidden_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.Identity()

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class FeedForward(nn.Module):
    def __init__(self, hidden_dim, mlp_dim, dropout):
        super().__init__()
        self.fc1 = nn.Linear(hidden_dim, mlp_dim)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(mlp_dim, hidden_dim)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(self.act(self.fc1(x)))))


class Attention(nn.Module):
    def __init__(self, hidden_dim, heads):
        super().__init__()
        dim_head = hidden_dim // heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(hidden_dim, dim_head * heads * 3, bias=True)
        self.proj = nn.Linear(hidden_dim, hidden_dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.to_qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    def __init__(self, hidden_dim, heads, mlp_dim, dropout):
        super().__init__()
        self.layers = nn.ModuleList([])
        self.norm1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.attn = Attention(hidden_dim, heads)
        self.norm2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = FeedForward(hidden_dim, mlp_dim, dropout)

    def forward(self, x):
        x = self.attn(self.norm1(x)) + x
        return self.mlp(self.norm2(x)) + x


class Transformer(nn.Module):
    def __init__(self, hidden_dim, depth, heads, mlp_dim, dropout):
        super().__init__()
        self.blocks = nn.ModuleList([TransformerBlock(hidden_dim, heads, mlp_dim, dropout) for _ in range(depth)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class ViT(nn.Module):
    def __init__(self, name, num_classes, image_size=224, patch_size=16, in_channels=3, dropout_prob=0.0,
                 emb_dropout_prob=0.0):
        super().__init__()
        hidden_dim, depth, heads, mlp_dim = SIZES[name]
        assert image_size % patch_size == 0
        num_patches = (image_size // patch_size) ** 2
        self.patch_embedding = PatchEmbed(patch_size, in_channels, hidden_dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, hidden_dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, hidden_dim))
        self.dropout = nn.Dropout(emb_dropout_prob)
        self.transformer = Transformer(hidden_dim, depth, heads, mlp_dim, dropout_prob)
        self.pre_head_norm = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.head = nn.Linear(hidden_dim, num_classes)

    def forward(self, img):
        x = self.patch_embedding(img)
        b, n, _ = x.shape
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + self.pos_embedding[:, : (n + 1)]
        x = self.transformer(self.dropout(x))
        return self.head(self.pre_head_norm(x)[:, 0])
