/** The SQS dead-letter queue behind the usage queue, as the operator sees it (list, redrive). */
export interface FailedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/** The SQS dead-letter queue, as the operator sees it. */
export interface FailedMessageQueue {
  /** Every message in the queue (however many: no page limit). */
  listAll(): Promise<FailedMessage[]>;
  /** Moves the messages with these ids (every message when none are given) to the usage queue; returns the ids moved. */
  redrive(ids?: ReadonlySet<string>): Promise<string[]>;
}
