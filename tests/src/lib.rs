//! End-to-end tests of corridor live in `tests/tests/`; this library is empty.
