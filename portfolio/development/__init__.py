"""Data for development and the benchmark; nothing in the application imports it but the
``generate_scale_data`` command."""
