package deadletter

import "time"

// Status is where an entry of the dead-letter store is in its life.
type Status string

// The statuses.
const (
	// StatusParked entries are retried by their handler's scheduler when
	// due (a waiting entry as soon as it is its aggregate's first).
	StatusParked Status = "parked"
	// StatusDead entries are retried no more: an operator replays or
	// discards them. Their aggregate's later messages wait behind them.
	StatusDead Status = "dead"
	// StatusReplayed entries were handled in the end.
	StatusReplayed Status = "replayed"
	// StatusDiscarded entries were given up by an operator.
	StatusDiscarded Status = "discarded"
)

// Open reports whether the status still blocks the entry's aggregate.
func (s Status) Open() bool { return s == StatusParked || s == StatusDead }

// Message is what the store keeps of a consumed message: enough to hand
// it to its handler again.
type Message struct {
	Handler   string `json:"handler"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// Key is the record key: the aggregate id.
	Key       string `json:"key"`
	MessageID string `json:"messageId"`
	// Type is the command or event type ("" when it could not be read).
	Type    string            `json:"type"`
	Payload []byte            `json:"payload"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Entry is one message in the dead-letter store.
type Entry struct {
	ID int64 `json:"id"`
	Message
	Class         Class     `json:"class"`
	Error         string    `json:"error"`
	Attempts      int       `json:"attempts"`
	Level         int       `json:"level"`
	FirstFailedAt time.Time `json:"firstFailedAt"`
	LastFailedAt  time.Time `json:"lastFailedAt"`
	// NextAttemptAt is when a parked entry is due (nil: waiting).
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	Status        Status     `json:"status"`
	ResolvedAt    *time.Time `json:"resolvedAt,omitempty"`
	ResolvedBy    string     `json:"resolvedBy,omitempty"`
	// Actions is the entry's audit trail, oldest first.
	Actions []Action `json:"actions,omitempty"`
}

// Action is one line of an entry's audit trail.
type Action struct {
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// The actions recorded.
const (
	ActionParked          = "parked"
	ActionWaiting         = "waiting"
	ActionDead            = "dead"
	ActionRetryFailed     = "retry_failed"
	ActionReplayed        = "replayed"
	ActionReplayRequested = "replay_requested"
	ActionReplayFailed    = "replay_failed"
	ActionDiscarded       = "discarded"
)

// Filter selects entries; zero fields select everything.
type Filter struct {
	Handler     string
	AggregateID string
	Status      Status
	Class       Class
	Type        string
	// From and To bound the first failure.
	From, To time.Time
}

// Count is the number of entries of one handler and class.
type Count struct {
	Handler string `json:"handler"`
	Class   Class  `json:"class"`
	Count   int    `json:"count"`
}

// Page is a page of entries, newest first, with the counts of everything
// the filter selects.
type Page struct {
	Entries []Entry `json:"entries"`
	Total   int     `json:"total"`
	Counts  []Count `json:"counts"`
	// HasNext reports whether entries follow the last of Entries.
	HasNext bool `json:"hasNext"`
}
