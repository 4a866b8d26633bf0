// (being written) entropy, cross-entropy, KL divergence, Huffman codes, the guessing game.
#pragma once
