export { enqueueNotification, notifyOrg, listDeliveries, type NotificationChannel, type NotificationInput, type DeliveryView } from './outbox';
export { createNotificationWorker, type NotificationWorker } from './worker';
export { putEndpoint, getEndpoint, deleteEndpoint, rotateSecret, endpointView, type EndpointView, type TargetPolicy } from './endpoints';
export { buildNotifications, type Notifications } from './build';
