"""The regression suite: question sets scored with ranx, answer quality, the generalization set, floors."""
