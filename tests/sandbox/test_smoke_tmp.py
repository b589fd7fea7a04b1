from tests.sandbox import helpers


def test_smoke(sandbox, antom, run_due):
    tok = helpers.token(antom, sandbox.url)
    result = helpers.pay(antom, tok.access_token, 1001)
    assert result.outcome == "S", result
    run_due()
    print(sandbox.receiver.kinds())
