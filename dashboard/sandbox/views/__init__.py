"""The simulators' HTTP faces: the Antom API, the Worldpay API, and the pages people click."""
