"""The special token ids every tokenizer, layer, loss and search agrees on.

A leaf module (it imports nothing), so layers and search need not import the tokenizer, and
SentencePiece, to know what padding is. Padding is 0 so a mask is simply `ids != 0`.
"""

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
