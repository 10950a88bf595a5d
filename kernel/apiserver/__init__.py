"""The API server: plain Python object logic (``objects``), watch translation
(``watch``), and the thin gRPC adapter (``service``) over them."""
