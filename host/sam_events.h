/* sam_events: `host local generate-event SERVICE EVENT [--field value ...]`: sample events
 * of the common Lambda triggers, with SAM's service and event names, in the shapes AWS
 * documents. */
#ifndef HOST_SAM_EVENTS_H
#define HOST_SAM_EVENTS_H

/* words: SERVICE EVENT [--field value ...]. Prints the event on stdout; returns the exit status. */
int sam_generate_event(int n, char **words);

#endif
