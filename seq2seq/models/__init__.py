"""The decodable-model contract (`base`) and loading model files of any task (`loading`)."""
