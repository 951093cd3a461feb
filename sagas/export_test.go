package sagas

// AppliedWhenAppended exposes appliedWhenAppended to the tests.
var AppliedWhenAppended = appliedWhenAppended
