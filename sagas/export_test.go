package sagas

// AppliedWhenAppended exposes appliedWhenAppended to the tests.
var AppliedWhenAppended = appliedWhenAppended

// SagaLockClass exposes the class of the sagas' advisory locks to the
// tests, which hold one to stand for another worker.
const SagaLockClass = sagaLockClass
