"""Assertions shared by the CLI tests."""


def one_line_error(result, code=2):
    """Bad input: the given exit code, one line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in result.stderr
    return err
