// Package rabbitmq answers RabbitMQ's HTTP auth backend
// (rabbitmq_auth_backend_http): the user, vhost, resource and topic
// checks RabbitMQ makes for AMQP, MQTT, Web MQTT and STOMP connections,
// from the same identities and the same policy as every other front.
//
// Only the user check carries the password (a Gatehouse or trusted-issuer
// token); what it verified is kept, keyed by the user name, until the
// token expires, and the later checks of that connection find it there.
// Topic checks map the routing key (MQTT topics and STOMP destinations
// become dot-separated routing keys on amq.topic) onto the policy's channel
// patterns and allow only what the policy covers entirely; queue checks
// allow only the server-named queues of MQTT and STOMP subscriptions.
// Every request the backend cannot make sense of is answered "deny".
package rabbitmq
